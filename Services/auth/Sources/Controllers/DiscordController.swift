import AsyncHTTPClient
import Crypto
import Foundation
import GuildCore
import GuildRedis
import GuildServiceKit
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Discord login: `GET /api/discord/auth`, `GET /api/discord/callback` and `POST /api/auth/exchange`.
///
/// Authorization-code flow with PKCE (S256) towards Discord and a single-use `state` that expires
/// after ten minutes. The state is bound to the browser by a cookie, or — for an app that opens
/// `auth_url` in the system browser, which never saw that cookie (RFC 8252) — to a PKCE challenge
/// of the app's own (`code_challenge`, S256; RFC 7636), whose verifier `exchange` then asks for.
/// The callback creates or links the account by Discord id (refreshing its Discord name and
/// avatar), then redirects to the allowlisted return URL with a one-time login code in the
/// fragment (never tokens; a hash route gets it as the route's query, `#/login?code=…`); the app
/// trades the code for tokens at `exchange`.
struct DiscordController: Sendable {
    let settings: DiscordSettings?
    let users: UserRepository
    let redis: RedisClient
    let login: LoginController

    static var stateLifetime: Int { 600 }
    static var codeLifetime: Int { 60 }
    static var cookieName: String { "guildhall_oauth" }

    /// `/api/discord/auth` and `/api/discord/callback`.
    var endpoints: RouteCollection<GuildRequestContext> {
        RouteCollection(context: GuildRequestContext.self)
            .get("auth", use: start)
            .get("callback", use: callback)
    }

    /// `/api/auth/exchange`: a one-time login code for tokens.
    var exchangeEndpoints: RouteCollection<GuildRequestContext> {
        RouteCollection(context: GuildRequestContext.self).post("exchange", use: exchange)
    }

    private func configured() throws -> DiscordSettings {
        guard let settings else {
            throw APIError(status: 503, code: "discord_not_configured", message: "Discord login is not configured", retryAfter: 3600)
        }
        return settings
    }

    /// What the callback needs to finish the flow, kept in Redis under the state.
    struct PendingLogin: Codable {
        var verifier: String
        var returnURL: String
        var platform: String
        /// The hash of the browser cookie's value; nil when the app's own challenge binds the login.
        var browser: String?
        /// The app's PKCE challenge (S256), which the exchange's `code_verifier` must answer.
        var appChallenge: String?
    }

    struct AuthURL: ResponseEncodable {
        var authUrl: String
    }

    @Sendable func start(request: Request, context: GuildRequestContext) async throws -> Response {
        let settings = try configured()
        let query = request.uri.queryParameters
        let platform = query["platform"].map(String.init) ?? "web"
        guard ["web", "android", "ios"].contains(platform) else { throw APIError.invalidField("platform", "must be web, android or ios") }
        guard let returnURL = settings.returnURL(query["return_url"].map(String.init), platform: platform) else {
            throw APIError.invalidField("return_url", "is not an allowed return URL for \(platform)")
        }
        let appChallenge = try PKCE.appChallenge(query["code_challenge"].map(String.init), method: query["code_challenge_method"].map(String.init))
        let state = TokenIssuer.newRefreshToken()
        let verifier = TokenIssuer.newRefreshToken() + TokenIssuer.newRefreshToken()
        let challenge = PKCE.challenge(of: verifier)
        let browser = TokenIssuer.newRefreshToken()
        let pending = PendingLogin(
            verifier: verifier, returnURL: returnURL.absoluteString, platform: platform,
            browser: appChallenge == nil ? TokenIssuer.hash(browser) : nil, appChallenge: appChallenge
        )
        let json = String(decoding: try JSONEncoder().encode(pending), as: UTF8.self)
        _ = try await redis.send(["SET", Self.stateKey(state), json, "EX", String(Self.stateLifetime)])

        var components = URLComponents(string: settings.authorizeURL)
        components?.queryItems = [
            URLQueryItem(name: "client_id", value: settings.clientId),
            URLQueryItem(name: "response_type", value: "code"),
            URLQueryItem(name: "redirect_uri", value: settings.redirectURI),
            URLQueryItem(name: "scope", value: "identify"),
            URLQueryItem(name: "state", value: state),
            URLQueryItem(name: "code_challenge", value: challenge),
            URLQueryItem(name: "code_challenge_method", value: "S256"),
            URLQueryItem(name: "prompt", value: "none"),
        ]
        guard let authURL = components?.url?.absoluteString else { throw APIError.internalError }

        var headers = HTTPFields()
        if appChallenge == nil {
            let cookie = Cookie(
                name: Self.cookieName, value: browser, maxAge: Self.stateLifetime, path: "/api/discord",
                secure: settings.redirectURI.lowercased().hasPrefix("https:"), httpOnly: true, sameSite: .lax
            )
            headers[.setCookie] = cookie.description
        }
        headers[.cacheControl] = "no-store"
        if query["redirect"] == "1" {
            headers[.location] = authURL
            return Response(status: .found, headers: headers)
        }
        var response = try context.responseEncoder.encode(AuthURL(authUrl: authURL), from: request, context: context)
        response.headers.append(contentsOf: headers)
        return response
    }

    @Sendable func callback(request: Request, context: GuildRequestContext) async throws -> Response {
        let settings = try configured()
        let query = request.uri.queryParameters
        guard let state = query["state"].map(String.init), !state.isEmpty, state.count <= 128 else {
            throw APIError.invalidField("state", "is missing")
        }
        // Single use: read and delete at once.
        let stored = try await redis.eval("local v = redis.call('GET', KEYS[1]); redis.call('DEL', KEYS[1]); return v", keys: [Self.stateKey(state)], arguments: [])
        guard let json = stored.string, let pending = try? JSONDecoder().decode(PendingLogin.self, from: Data(json.utf8)) else {
            throw APIError.invalidField("state", "is unknown, used or expired; start the login again")
        }
        // A web login's state belongs to the browser that started it; an app's, to its challenge.
        if let browser = pending.browser {
            guard let cookie = request.cookies[Self.cookieName]?.value, TokenIssuer.hash(cookie) == browser else {
                throw APIError.invalidField("state", "was issued to another browser")
            }
        } else if pending.appChallenge == nil {
            throw APIError.internalError
        }
        guard let returnURL = URL(string: pending.returnURL) else { throw APIError.internalError }
        if let error = query["error"] {
            return Self.redirect(to: returnURL, fragment: ["error": String(error.prefix(64))])
        }
        guard let code = query["code"].map(String.init), !code.isEmpty, code.count <= 512 else {
            throw APIError.invalidField("code", "is missing")
        }

        let profile: DiscordAPI.User
        do {
            let accessToken = try await DiscordAPI(settings: settings).exchange(code, verifier: pending.verifier)
            profile = try await DiscordAPI(settings: settings).user(accessToken: accessToken)
        } catch {
            context.logger.warning("Discord login failed", metadata: ["error": "\(error)"])
            return Self.redirect(to: returnURL, fragment: ["error": "discord_unavailable"])
        }
        let user = try await account(for: profile, logger: context.logger)
        guard !user.disabled else { return Self.redirect(to: returnURL, fragment: ["error": "account_disabled"]) }

        let loginCode = TokenIssuer.newRefreshToken()
        let record = "\(user.id.uuidString.lowercased()) \(pending.platform) \(pending.appChallenge ?? "-")"
        _ = try await redis.send(["SET", Self.codeKey(loginCode), record, "EX", String(Self.codeLifetime)])
        context.logger.info("Discord login", metadata: ["user_id": "\(user.id.uuidString.lowercased())"])
        return Self.redirect(to: returnURL, fragment: ["code": loginCode])
    }

    struct ExchangeRequest: Decodable {
        var code: String
        /// The PKCE verifier of the app's `code_challenge`, when the login was started with one.
        var codeVerifier: String?
        /// As in a password login: the refresh token as a cookie.
        var refreshCookie: Bool?
    }

    @Sendable func exchange(request: Request, context: GuildRequestContext) async throws -> EditedResponse<LoginController.LoginResponse> {
        _ = try configured()
        let body = try await request.decodeJSON(as: ExchangeRequest.self, context: context)
        guard !body.code.isEmpty, body.code.count <= 128 else { throw APIError.invalidField("code", "must be a login code") }
        let stored = try await redis.eval(
            "local v = redis.call('GET', KEYS[1]); redis.call('DEL', KEYS[1]); return v", keys: [Self.codeKey(body.code)], arguments: []
        )
        let parts = stored.string?.split(separator: " ").map(String.init) ?? []
        guard parts.count == 3, let id = UUID(uuidString: parts[0]), let user = try await users.find(id: id, logger: context.logger) else {
            throw APIError(status: 401, code: "invalid_login_code", message: "the login code is unknown, used or expired")
        }
        // Spent either way: a wrong verifier cannot be tried again with the same code.
        if parts[2] != "-" {
            guard let verifier = body.codeVerifier else { throw APIError.invalidGrant("the login was started with a code_challenge: code_verifier is required") }
            guard PKCE.isVerifier(verifier), PKCE.challenge(of: verifier) == parts[2] else {
                throw APIError.invalidGrant("code_verifier does not match the login's code_challenge")
            }
        }
        guard !user.disabled else { throw APIError.accountDisabled }
        return try await login.openSession(
            for: user, platform: parts[1], device: nil, method: .discord, refreshCookie: body.refreshCookie ?? false, context: context
        )
    }

    /// The Discord CDN address of the user's avatar.
    static func avatarURL(of profile: DiscordAPI.User) -> String? {
        profile.avatar.map { "https://cdn.discordapp.com/avatars/\(profile.id)/\($0).png" }
    }

    /// The account linked to this Discord user, with its Discord name and avatar as Discord says
    /// them now: created with them on first login, refreshed on every later one.
    private func account(for profile: DiscordAPI.User, logger: Logger) async throws -> User {
        let avatar = Self.avatarURL(of: profile)
        func refreshed(_ user: User) async throws -> User {
            try await users.refreshDiscordProfile(of: user.id, username: profile.username, avatar: avatar, logger: logger) ?? user
        }
        if let user = try await users.find(discordId: profile.id, logger: logger) { return try await refreshed(user) }
        let base = String(profile.username.filter { $0.isLetter || $0.isNumber || "._-".contains($0) }.prefix(24))
        let candidates = [base, "\(base)-\(profile.id.suffix(4))", "\(base)-\(profile.id.suffix(8))", "discord-\(profile.id)"]
        for name in candidates where name.count >= 3 {
            do {
                return try await users.create(
                    username: name, passwordHash: nil, role: .user, discordId: profile.id, discordUsername: profile.username, avatar: avatar, logger: logger
                )
            } catch AccountFailure.usernameTaken {
                // The name is taken (or a concurrent first login linked the id): look again, then try the next name.
                if let user = try await users.find(discordId: profile.id, logger: logger) { return try await refreshed(user) }
            }
        }
        throw APIError.conflict("username_taken", "no free username for this Discord account")
    }

    // MARK: - Helpers

    static func stateKey(_ state: String) -> String { "guildhall:auth:discord-state:\(TokenIssuer.hash(state))" }
    static func codeKey(_ code: String) -> String { "guildhall:auth:login-code:\(TokenIssuer.hash(code))" }

    /// Sends the browser to `url` with `parameters` in its fragment: `#code=…`, or, for a return
    /// URL with a hash route, in the route's query (`#/login?code=…`, `&code=…` after a query).
    static func redirect(to url: URL, fragment parameters: [String: String]) -> Response {
        let encoded = (try? URLEncodedFormEncoder().encode(parameters)) ?? ""
        let text = url.absoluteString
        let location: String
        if let hash = text.firstIndex(of: "#"), text.index(after: hash) < text.endIndex {
            let route = text[text.index(after: hash)...]
            location = text + (route.contains("?") ? "&" : "?") + encoded
        } else {
            location = text.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0] + "#" + encoded
        }
        return Response(status: .found, headers: [.location: location, .cacheControl: "no-store"])
    }
}
