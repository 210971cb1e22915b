import Foundation
import GuildCore

/// The tickets service's own refusals, named once.
extension APIError {
    /// No ticket with that id that the caller may see.
    static let ticketNotFound = APIError(status: 404, code: "ticket_not_found", message: "ticket not found")
    /// The ticket is closed: it takes no messages and cannot be closed again.
    static let ticketClosed = APIError.conflict("ticket_closed", "the ticket is closed")
    /// The ticket is open already.
    static let ticketOpen = APIError.conflict("ticket_open", "the ticket is open already")
    /// The user has as many open tickets as allowed.
    static func tooManyOpenTickets(_ limit: Int) -> APIError {
        .unprocessable("too_many_open_tickets", "you have \(limit) open tickets; close one before opening another")
    }
    /// New tickets are switched off.
    static let ticketsDisabled = APIError(status: 403, code: "tickets_disabled", message: "opening tickets is switched off")
    /// Transcripts are switched off.
    static let transcriptsDisabled = APIError(status: 403, code: "transcripts_disabled", message: "transcripts are switched off")
    /// The category is not one of the desk's.
    static func unknownCategory(_ categories: [String]) -> APIError {
        .invalidField("category", "must be one of \(categories.joined(separator: ", "))")
    }
}
