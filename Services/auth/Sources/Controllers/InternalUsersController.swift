import Foundation
import GuildCore
import GuildServiceKit
import Hummingbird

/// Account look-ups for the other services and the bot, on auth's private listener behind the shared secret.
struct InternalUsersController: Sendable {
    let users: UserRepository

    /// Under `/internal`.
    var endpoints: RouteCollection<GuildRequestContext> {
        let routes = RouteCollection(context: GuildRequestContext.self)
        // `by-id` is a constant segment, so the router tries it before the `:discord_id` parameter.
        routes.get("users/by-id/:user_id", use: byId)
        routes.get("users/:discord_id", use: byDiscordId)
        return routes
    }

    /// `{user_found, user_id, username, email, role, discord_id, avatar, disabled}`, for both
    /// look-ups; an unknown account is `user_found: false` (200), not an error, so a caller tells
    /// "no such user" from "auth is down". `email` is always null: auth keeps no e-mail addresses.
    struct Account: ResponseEncodable {
        var userFound: Bool
        var userId: UUID?
        var username: String?
        var email: String?
        var role: Role?
        var discordId: String?
        var avatar: String?
        var disabled: Bool?

        init(_ user: User?) {
            userFound = user != nil
            userId = user?.id
            username = user?.username
            email = nil
            role = user?.role
            discordId = user?.discordId
            avatar = user?.avatar
            disabled = user?.disabled
        }
    }

    /// By user id (the services). A path that cannot hold a user id names no account: 404, as
    /// every id in a path that is not a UUID (``Parameters/uuid(_:or:)``).
    @Sendable func byId(request: Request, context: GuildRequestContext) async throws -> Account {
        let id = try context.parameters.uuid("user_id", or: .userNotFound)
        return Account(try await users.find(id: id, logger: context.logger))
    }

    /// By Discord id (the bot): the account linked to the member.
    @Sendable func byDiscordId(request: Request, context: GuildRequestContext) async throws -> Account {
        guard let discordId = context.parameters.get("discord_id"), DiscordId.isValid(discordId) else { throw APIError.notADiscordId() }
        return Account(try await users.find(discordId: discordId, logger: context.logger))
    }
}
