import Foundation
import GuildCore
import GuildServiceKit
import Hummingbird

/// For notify, on the private listener behind the shared secret: whether a user may join a
/// ticket's room, and its messages. notify passes the identity it verified from the socket's
/// token; the rule (owner or staff) is the tickets service's, decided here and nowhere else.
struct RoomsController: Sendable {
    let tickets: TicketRepository

    /// Under `/internal`.
    var endpoints: RouteCollection<GuildRequestContext> {
        RouteCollection(context: GuildRequestContext.self).get("tickets/:ticket_id/messages", use: history)
    }

    struct History: ResponseEncodable {
        var ticketId: UUID
        var messages: [TicketMessage]
    }

    /// `?user_id=&role=` (who joins) and `?since=` (a message id: only what came after it).
    /// 404 `ticket_not_found` when there is no such ticket or the user may not see it.
    @Sendable func history(request: Request, context: GuildRequestContext) async throws -> History {
        let id = try context.parameters.uuid("ticket_id", or: .ticketNotFound)
        guard let user = request.query("user_id").flatMap(UUID.init(uuidString:)) else { throw APIError.invalidField("user_id", "must be a user id") }
        guard let role = request.query("role").flatMap(Role.init(rawValue:)) else { throw APIError.invalidField("role", "must be a role") }
        let since = try request.query("since").map { text in
            guard let since = UUID(uuidString: text) else { throw APIError.invalidField("since", "must be a message id") }
            return since
        }
        guard let head = try await tickets.head(id, logger: context.logger),
            TicketRules.Access(owner: head.ownerId, reader: user, isStaff: role.isStaff).canTakePart
        else {
            throw APIError.ticketNotFound
        }
        return History(ticketId: id, messages: try await tickets.messages(of: id, after: since, logger: context.logger))
    }
}
