import Foundation
import GuildAuth
import GuildClients
import GuildCore
import GuildServiceKit

/// Asks the tickets service, on its private listener, whether a user may join a ticket's room
/// and for its messages: notify trusts no client about a room, and keeps no copy of the rule.
struct TicketsRoomClient: Sendable {
    let tickets: InternalClient

    struct History: Decodable {
        var messages: [JSONValue]
    }

    /// The messages of `ticket` after `since` (all when nil), oldest first; nil when there is no
    /// such ticket or `identity` may not see it; a 503 when tickets cannot be reached.
    func history(of ticket: UUID, for identity: Identity, since: UUID?) async throws -> [JSONValue]? {
        var path = "/internal/tickets/\(ticket.uuidString.lowercased())/messages?user_id=\(identity.userId)&role=\(identity.role.rawValue)"
        if let since { path += "&since=\(since.uuidString.lowercased())" }
        // The messages go out as they came: a plain decoder keeps their snake_case keys.
        let (status, history) = try await tickets.get(path, as: History.self, decoder: JSONDecoder())
        if status == 404 { return nil }
        guard let history else { throw APIError.unavailable("tickets (HTTP \(status))") }
        return history.messages
    }
}
