import Foundation
import GuildCore

/// A ticket's conversation as plain text: a header, then one block per message, oldest first.
enum Transcript {
    static func text(of ticket: Ticket, messages: [TicketMessage]) -> String {
        var lines = [
            "Ticket \(ticket.ticketId.uuidString.lowercased()): \(ticket.subject)",
            "Category: \(ticket.category) · Opened by \(ticket.userName) at \(RFC3339.format(ticket.createdAt)) · Status: \(ticket.status.rawValue)",
            "",
        ]
        for message in messages {
            let role = message.isAdmin ? " (staff)" : ""
            lines.append("[\(RFC3339.format(message.timestamp))] \(message.authorName)\(role):")
            lines.append(contentsOf: message.content.split(separator: "\n", omittingEmptySubsequences: false).map { "  \($0)" })
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
