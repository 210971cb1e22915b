import Foundation
import GuildCore
import GuildServiceKit
import Hummingbird

/// Account look-ups for the other services, on auth's private listener behind the shared secret.
struct InternalUsersController: Sendable {
    let users: UserRepository

    /// Under `/internal`.
    var endpoints: RouteCollection<GuildRequestContext> {
        let routes = RouteCollection(context: GuildRequestContext.self)
        routes.get("users/by-id/:user_id", use: byId)
        return routes
    }

    /// `{user_found, user_id, username, avatar, role, disabled, discord_id}`; an unknown id is
    /// `user_found: false`, not an error, so a caller tells "no such user" from "auth is down".
    struct Account: ResponseEncodable {
        var userFound: Bool
        var userId: UUID?
        var username: String?
        var avatar: String?
        var role: Role?
        var disabled: Bool?
        var discordId: String?
    }

    @Sendable func byId(request: Request, context: GuildRequestContext) async throws -> Account {
        guard let text = context.parameters.get("user_id"), let id = UUID(uuidString: text) else {
            throw APIError.invalidField("user_id", "must be a user id")
        }
        guard let user = try await users.find(id: id, logger: context.logger) else { return Account(userFound: false) }
        return Account(userFound: true, userId: user.id, username: user.username, avatar: user.avatar, role: user.role, disabled: user.disabled, discordId: user.discordId)
    }
}
