import Foundation
import GuildCore
import GuildServiceKit
import Hummingbird

/// `/api/auth/logout`, `/api/auth/sessions`, `/api/auth/active-sessions` (authenticated).
struct SessionsController: Sendable {
    let sessions: SessionRepository
    let revoker: Revoker
    let cookie: RefreshCookie

    var endpoints: RouteCollection<AuthenticatedContext> {
        RouteCollection(context: AuthenticatedContext.self)
            .post("logout", use: logout)
            .get("sessions", use: own)
            .delete("sessions/:id", use: revoke)
    }

    var adminEndpoints: RouteCollection<AdminContext> {
        RouteCollection(context: AdminContext.self).get("active-sessions", use: all)
    }

    struct SessionList: ResponseEncodable {
        var items: [SessionResponse]
    }

    /// Ends the caller's session and clears the browser's refresh cookie, if it has one.
    @Sendable func logout(request: Request, context: AuthenticatedContext) async throws -> EditedResponse<Success> {
        guard let sessionId = UUID(uuidString: context.identity.sessionId) else { throw APIError.unauthorized() }
        try await sessions.revoke(sessionId: sessionId, reason: "logout", logger: context.logger)
        await revoker.revoke(.session(context.identity.sessionId, reason: .loggedOut), logger: context.logger)
        var response = EditedResponse(headers: [.cacheControl: "no-store"], response: Success())
        if request.cookies[RefreshCookie.name] != nil || request.cookies[RefreshCookie.hintName] != nil { cookie.cleared.forEach { response.setCookie($0) } }
        return response
    }

    @Sendable func own(request: Request, context: AuthenticatedContext) async throws -> SessionList {
        let limit = try PageRequest(request).limit
        return SessionList(items: try await sessions.live(userId: context.caller.userId, currentSession: context.identity.sessionId, limit: limit, logger: context.logger))
    }

    @Sendable func revoke(request: Request, context: AuthenticatedContext) async throws -> Success {
        let id = try context.parameters.uuid("id", or: .sessionNotFound)
        // Someone else's session is "not found" to anyone but an admin.
        guard let owner = try await sessions.owner(of: id, logger: context.logger),
            owner == context.caller.userId || context.caller.role == .admin
        else { throw APIError.sessionNotFound }
        try await sessions.revoke(sessionId: id, reason: "revoked", logger: context.logger)
        await revoker.revoke(.session(id.uuidString.lowercased(), reason: .revoked), logger: context.logger)
        return Success()
    }

    @Sendable func all(request: Request, context: AdminContext) async throws -> SessionList {
        let limit = try PageRequest(request, defaultLimit: 200).limit
        return SessionList(items: try await sessions.live(userId: nil, currentSession: context.identity.sessionId, limit: limit, logger: context.logger))
    }
}
