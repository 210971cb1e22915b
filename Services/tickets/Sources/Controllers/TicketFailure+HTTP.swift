import Foundation
import GuildCore

/// The tickets service's refusals as the contract names them, and the answer to each ``TicketFailure``.
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

extension TicketFailure: APIErrorConvertible {
    var apiError: APIError {
        switch self {
        case .notFound: .ticketNotFound
        case .closed: .ticketClosed
        case .disabled: .ticketsDisabled
        case .unknownCategory(let categories): .unknownCategory(categories)
        case .tooManyOpen(let limit): .tooManyOpenTickets(limit)
        case .messageInFlight: .conflict("message_in_flight", "a message with this client_message_id is still being posted")
        case .settingsMissing: .unavailable("tickets settings")
        }
    }
}
