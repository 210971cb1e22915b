import Foundation
import GuildCore
import GuildServiceKit
import HTTPTypes
import Hummingbird

/// `/api/users/...`: the caller's own profile.
struct UsersController<Users: UserRepository>: Sendable {
    let users: Users

    var endpoints: RouteCollection<AuthenticatedContext> {
        let routes = RouteCollection(context: AuthenticatedContext.self)
        routes.get("me", use: me)
        return routes
    }

    @Sendable func me(request: Request, context: AuthenticatedContext) async throws -> UserResponse {
        guard let id = UUID(uuidString: context.identity.userId), let user = try await users.find(id: id, logger: context.logger) else {
            throw APIError.notFound("user")
        }
        return UserResponse(user)
    }
}
