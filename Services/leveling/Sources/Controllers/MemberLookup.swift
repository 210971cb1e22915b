import Foundation
import GuildClients
import GuildCore
import GuildServiceKit
import Hummingbird

/// Who a request is about: the caller's own Discord id (linked in auth) and the Discord id in a path.
struct MemberLookup: Sendable {
    let users: UserDirectory

    /// The Discord id linked to the caller's account, asked of auth on every call so a link made
    /// or changed there counts at once; 404 `discord_not_linked` without one.
    func linkedDiscordId(of caller: Caller) async throws -> String {
        let account = try await users.account(caller.userId)
        guard account.userFound, account.disabled != true else { throw APIError.unauthorized("the account is unknown or disabled") }
        guard let discordId = account.discordId, !discordId.isEmpty else { throw APIError.discordNotLinked }
        return discordId
    }

    /// The Discord id named by the path parameter `name`; 400 when it is not one.
    static func discordId(_ context: some RequestContext, _ name: String = "discord_id") throws -> String {
        guard let text = context.parameters.get(name), DiscordId.isValid(text) else {
            throw APIError.notADiscordId(name)
        }
        return text
    }

    /// Lets staff, and the member whose Discord id it is, through; 403 for anyone else.
    func requireOwnerOrStaff(_ discordId: String, context: AuthenticatedContext) async throws {
        if context.caller.isStaff { return }
        guard try await linkedDiscordId(of: context.caller) == discordId else {
            throw APIError.forbidden("only the member and staff see this")
        }
    }
}
