import Foundation
import GuildCore
import GuildServiceKit
import HTTPTypes
import Hummingbird

/// `POST /api/auth/login`: password login.
///
/// Braked by ``LoginThrottle``; a device that logged in to the account before (a valid
/// ``DeviceTokens`` token, in the `guildhall_device` cookie or the `X-Device-Token` header) is
/// braked on its own. Every successful password login hands out a new device token.
struct LoginController: Sendable {
    let users: UserRepository
    let hasher: PasswordHasher
    let issuer: TokenIssuer
    let throttle: LoginThrottle
    /// The refresh token as a cookie, for logins that ask for it.
    let cookie: RefreshCookie
    let devices: DeviceTokens

    var endpoints: RouteCollection<GuildRequestContext> {
        RouteCollection(context: GuildRequestContext.self).post("login", use: login)
    }

    struct LoginRequest: Decodable {
        var username: String
        var password: String
        var platform: String?
        var device: String?
        /// Set the refresh token as the `guildhall_refresh` cookie (``RefreshCookie``) instead of
        /// answering it in the body.
        var refreshCookie: Bool?
    }

    /// The body of a successful login.
    struct LoginResponse: ResponseEncodable {
        var token: String
        /// Absent when the refresh token was set as a cookie.
        var refreshToken: String?
        var tokenType = "Bearer"
        var expiresIn: Int
        /// The username, as the HazeBot app reads it.
        var user: String
        /// The account, whole.
        var account: UserResponse
        var role: Role
        var discordId: String?
        var permissions: [String]
        /// The device token of a password login (also set as the `guildhall_device` cookie), for
        /// apps to send back in `X-Device-Token`; null for other ways of logging in.
        var deviceToken: String? = nil
    }

    @Sendable func login(request: Request, context: GuildRequestContext) async throws -> EditedResponse<LoginResponse> {
        let body = try await request.decodeJSON(as: LoginRequest.self, context: context)
        guard !body.username.isEmpty, body.username.count <= 64 else { throw APIError.invalidField("username", "must be 1 to 64 characters") }
        try PasswordHasher.checkPresented(body.password, field: "password")
        let platform = body.platform ?? "web"
        guard ["web", "android", "ios"].contains(platform) else { throw APIError.invalidField("platform", "must be web, android or ios") }

        // nginx sets X-Real-IP to the client's address and replaces any client-sent value.
        let address = request.headers[.realIP] ?? "direct"
        let untrusted = LoginThrottle.Client.untrusted(username: body.username, address: address)
        let client: LoginThrottle.Client
        let user: User?
        if let device = DeviceTokens.presented(in: request).flatMap({ devices.verify($0) }) {
            // A device is trusted only for the account it logged in to, which takes the account to know.
            user = try await users.find(username: body.username, logger: context.logger)
            client = user?.id == device.userId ? .trustedDevice(nonce: device.nonce) : untrusted
            try await throttle.check(client, logger: context.logger)
        } else {
            client = untrusted
            try await throttle.check(client, logger: context.logger)
            user = try await users.find(username: body.username, logger: context.logger)
        }
        guard try await hasher.verify(body.password, against: user?.passwordHash), let user else {
            await throttle.recordFailure(client, logger: context.logger)
            throw APIError.invalidCredentials
        }
        await throttle.recordSuccess(client, logger: context.logger)
        guard !user.disabled else { throw APIError.accountDisabled }
        let device = body.device.map { String($0.prefix(120)) }
        var session = try await openSession(for: user, platform: platform, device: device, method: .password, refreshCookie: body.refreshCookie ?? false, context: context)
        let deviceToken = devices.issue(userId: user.id)
        session.responseGenerator.deviceToken = deviceToken
        session.headers[values: .setCookie].append(devices.setCookie(deviceToken))
        return session
    }

    /// How a session was signed in to (`sessions.method`, counted in `GET /api/users/stats`).
    enum SignInMethod: String, Sendable, CaseIterable {
        case password
        case discord
    }

    /// Opens a session and answers with its tokens (shared by every way of logging in): the
    /// refresh token in the body, or with `refreshCookie` as the ``RefreshCookie``.
    func openSession(
        for user: User, platform: String, device: String?, method: SignInMethod, refreshCookie: Bool, context: GuildRequestContext
    ) async throws -> EditedResponse<LoginResponse> {
        let refreshToken = TokenIssuer.newRefreshToken()
        let sessionId = try await users.openSession(
            userId: user.id, platform: platform, device: device, method: method.rawValue, refreshTokenHash: TokenIssuer.hash(refreshToken),
            lifetime: issuer.refreshTokenLifetime, logger: context.logger
        )
        let token = try await issuer.accessToken(userId: user.id, role: user.role, sessionId: sessionId)
        context.logger.info("login", metadata: ["user_id": "\(user.id.uuidString.lowercased())", "session_id": "\(sessionId.uuidString.lowercased())"])
        let profile = UserResponse(user)
        var response = EditedResponse(
            headers: [.cacheControl: "no-store"],
            response: LoginResponse(
                token: token, refreshToken: refreshCookie ? nil : refreshToken, expiresIn: Int(issuer.accessTokenLifetime.seconds),
                user: profile.username, account: profile, role: user.role, discordId: user.discordId, permissions: profile.permissions
            )
        )
        if refreshCookie { cookie.storing(refreshToken).forEach { response.setCookie($0) } }
        return response
    }
}

extension HTTPField.Name {
    /// The client address nginx passes upstream.
    static let realIP = HTTPField.Name("X-Real-IP")!
}
