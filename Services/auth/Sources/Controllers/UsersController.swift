import Foundation
import GuildCore
import GuildServiceKit
import HTTPTypes
import Hummingbird

/// `/api/users/...`: the caller's own profile, and its username, which the caller may change.
struct UsersController: Sendable {
    let users: UserRepository

    var endpoints: RouteCollection<AuthenticatedContext> {
        RouteCollection(context: AuthenticatedContext.self)
            .get("me", use: me)
            .patch("me", use: rename)
    }

    struct Change: Decodable {
        var username: String
    }

    /// `PATCH /api/users/me {username}`: the rules of creation; 409 `username_taken` when another
    /// account has it (in any case).
    @Sendable func rename(request: Request, context: AuthenticatedContext) async throws -> UserResponse {
        let body = try await request.decodeJSON(as: Change.self, context: context)
        let username = try User.validUsername(body.username)
        guard let user = try await users.rename(context.caller.userId, to: username, logger: context.logger) else { throw APIError.userNotFound }
        context.logger.info("username changed", metadata: ["user_id": "\(user.id)"])
        return UserResponse(user)
    }

    @Sendable func me(request: Request, context: AuthenticatedContext) async throws -> UserResponse {
        guard let user = try await users.find(id: context.caller.userId, logger: context.logger) else { throw APIError.userNotFound }
        return UserResponse(user)
    }
}
