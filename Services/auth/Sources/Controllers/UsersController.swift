import Foundation
import GuildCore
import GuildServiceKit
import HTTPTypes
import Hummingbird

/// `/api/users/...`: the caller's own profile.
struct UsersController: Sendable {
    let users: UserRepository

    var endpoints: RouteCollection<AuthenticatedContext> {
        let routes = RouteCollection(context: AuthenticatedContext.self)
        routes.get("me", use: me)
        return routes
    }

    @Sendable func me(request: Request, context: AuthenticatedContext) async throws -> UserResponse {
        guard let user = try await users.find(id: context.caller.userId, logger: context.logger) else { throw APIError.userNotFound }
        return UserResponse(user)
    }
}
