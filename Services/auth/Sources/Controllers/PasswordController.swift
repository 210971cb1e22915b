import Foundation
import GuildAuth
import GuildCore
import GuildServiceKit
import Hummingbird

/// `POST /api/users/me/password`: the caller changes their own password (`current_password`
/// required when the account has one; a Discord-only account sets its first without it).
///
/// Every other session of the account ends (their live connections too, with
/// `password_changed`); the session that made the change goes on. Wrong current passwords count
/// against the login throttle of the account and the address, as failed logins do, so a stolen
/// access token cannot be used to guess the password faster than logging in could.
struct PasswordController: Sendable {
    let users: UserRepository
    let hasher: PasswordHasher
    let throttle: LoginThrottle
    let revoker: Revoker

    var endpoints: RouteCollection<AuthenticatedContext> {
        RouteCollection(context: AuthenticatedContext.self).post("me/password", use: change)
    }

    struct ChangeRequest: Decodable {
        /// Omitted only by an account without a password (signed up with Discord).
        var currentPassword: String?
        var newPassword: String
    }

    @Sendable func change(request: Request, context: AuthenticatedContext) async throws -> Response {
        let body = try await request.decodeJSON(as: ChangeRequest.self, context: context)
        if let current = body.currentPassword { try PasswordHasher.checkPresented(current, field: "current_password") }
        guard let session = UUID(uuidString: context.identity.sessionId) else { throw APIError.unauthorized() }
        guard let user = try await users.find(id: context.caller.userId, logger: context.logger) else { throw APIError.userNotFound }
        if let reason = PasswordHasher.validate(body.newPassword, username: user.username) { throw APIError.invalidField("new_password", reason) }
        if let hash = user.passwordHash {
            // Not a guess: nothing to count against the throttle.
            guard let current = body.currentPassword else { throw APIError.currentPasswordRequired }
            // nginx sets X-Real-IP to the client's address and replaces any client-sent value.
            let client = LoginThrottle.Client.untrusted(username: user.username, address: request.headers[.realIP] ?? "direct")
            try await throttle.check(client, logger: context.logger)
            guard try await hasher.verify(current, against: hash) else {
                await throttle.recordFailure(client, logger: context.logger)
                throw APIError.wrongCurrentPassword
            }
        }
        let newHash = try await hasher.hash(body.newPassword)
        guard let ended = try await users.changePassword(
            userId: user.id, from: user.passwordHash, to: newHash, keeping: session, logger: context.logger
        ) else {
            throw APIError.passwordChangedMeanwhile
        }
        for id in ended { await revoker.revoke(.session(id, reason: .passwordChanged), logger: context.logger) }
        context.logger.info("password changed", metadata: ["user_id": "\(user.id)", "sessions_ended": "\(ended.count)"])
        return Response(status: .noContent, headers: [.cacheControl: "no-store"])
    }
}
