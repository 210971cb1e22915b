import Foundation
import GuildCore
import Hummingbird

/// A support ticket, as lists and the ticket page show it.
struct Ticket: ResponseEncodable, Sendable, Equatable {
    /// `open` ⇄ `closed`.
    enum Status: String, Codable, Sendable, CaseIterable {
        case open, closed
    }

    var ticketId: UUID
    var userId: UUID
    var userName: String
    var subject: String
    var category: String
    var status: Status
    var claimedBy: UUID?
    var claimedByName: String?
    var createdAt: Date
    var closedAt: Date?
    /// The text of the newest message; null while there is none (as the HazeBot app reads it).
    var lastMessage: String?
    /// When the newest message was written; null while there is none.
    var lastMessageAt: Date?
    /// Messages the caller has not read (not counting their own).
    var unreadCount: Int
}

/// One message of a ticket: the same as its events and live frames carry.
typealias TicketMessage = TicketMessageData

extension TicketMessageData: ResponseEncodable {}

/// A ticket with a page of its messages, oldest first.
struct TicketPage: ResponseEncodable, Sendable {
    var ticket: Ticket
    var messages: [TicketMessage]
    /// Pass as `?before=` for the older messages; null when there are none.
    var nextCursor: String?
}

/// The desk's settings (`GET/PUT /api/tickets/config`).
struct DeskSettings: ResponseEncodable, Sendable, Equatable {
    /// New tickets may be opened.
    var enabled: Bool
    /// Open tickets one user may have at once.
    var maxOpenPerUser: Int
    /// Hours without a message after which an open ticket closes by itself; 0: never.
    var autoCloseHours: Int
    /// Transcripts may be read.
    var transcriptEnabled: Bool
    /// The categories a ticket may have.
    var categories: [String]
}
