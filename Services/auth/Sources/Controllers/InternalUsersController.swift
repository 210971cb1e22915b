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

    // MARK: - By user id (services)

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
        return Account(
            userFound: true, userId: user.id, username: user.username, avatar: user.avatar, role: user.role, disabled: user.disabled,
            discordId: user.discordId
        )
    }

    // MARK: - By Discord id (the bot)

    /// `{user_found, user_id, username, email, role, discord_id, avatar, disabled}` of the account
    /// linked to a Discord member; a member with no linked account is `user_found: false` (200).
    /// `email` is always null: auth keeps no e-mail addresses.
    struct Member: ResponseEncodable {
        var userFound: Bool
        var userId: UUID?
        var username: String?
        var email: String?
        var role: Role?
        var discordId: String?
        var avatar: String?
        var disabled: Bool?
    }

    @Sendable func byDiscordId(request: Request, context: GuildRequestContext) async throws -> Member {
        guard let discordId = context.parameters.get("discord_id"), DiscordId.isValid(discordId) else { throw APIError.invalidDiscordId }
        guard let user = try await users.find(discordId: discordId, logger: context.logger) else { return Member(userFound: false) }
        return Member(
            userFound: true, userId: user.id, username: user.username, email: nil, role: user.role, discordId: user.discordId,
            avatar: user.avatar, disabled: user.disabled
        )
    }
}
