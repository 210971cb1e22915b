import Foundation
import GuildAuth
import GuildCore
import GuildRedis
import GuildServiceKit
import Hummingbird
import Logging

/// `POST /api/auth/refresh` (public): rotates a refresh token, given in the body or as the
/// ``RefreshCookie`` (then the new one is set as the cookie too).
struct RefreshController: Sendable {
    let sessions: SessionRepository
    let issuer: TokenIssuer
    let revoker: Revoker
    let redis: RedisClient
    /// How long after a rotation the spent token still answers with the same new pair.
    let grace: Duration
    let cookie: RefreshCookie

    var endpoints: RouteCollection<GuildRequestContext> {
        RouteCollection(context: GuildRequestContext.self).post("refresh", use: refresh)
    }

    struct RefreshRequest: Decodable {
        /// Absent when the token is the cookie.
        var refreshToken: String?
    }

    struct RefreshResponse: ResponseEncodable, Codable, Sendable {
        var token: String
        /// Absent when the token is the cookie (in the grace entry, always present).
        var refreshToken: String?
        var tokenType = "Bearer"
        var expiresIn: Int
    }

    @Sendable func refresh(request: Request, context: GuildRequestContext) async throws -> EditedResponse<RefreshResponse> {
        let body = try await request.decodeJSON(as: RefreshRequest.self, context: context)
        let presented: String
        let fromCookie: Bool
        if let token = body.refreshToken {
            (presented, fromCookie) = (token, false)
        } else if let token = RefreshCookie.presented(in: request) {
            (presented, fromCookie) = (token, true)
        } else if request.cookies[RefreshCookie.name] != nil {
            throw APIError(
                status: 401, code: "invalid_refresh_token",
                message: "the refresh cookie counts only with the \(RefreshCookie.requiredHeader.rawName) header"
            )
        } else {
            throw APIError(
                status: 401, code: "invalid_refresh_token",
                message: "no refresh token: send refresh_token, or the refresh cookie with \(RefreshCookie.requiredHeader.rawName)"
            )
        }
        guard !presented.isEmpty, presented.utf8.count <= 256 else {
            throw APIError.invalidField("refresh_token", "must be a refresh token")
        }
        var pair = try await rotate(presented, context: context)
        var cookies: [Cookie] = []
        if fromCookie, let next = pair.refreshToken {
            pair.refreshToken = nil
            cookies = cookie.storing(next)
        }
        var response = EditedResponse(headers: [.cacheControl: "no-store"], response: pair)
        cookies.forEach { response.setCookie($0) }
        return response
    }

    /// The new pair for a presented refresh token.
    private func rotate(_ presented: String, context: GuildRequestContext) async throws -> RefreshResponse {
        let hash = TokenIssuer.hash(presented)
        let next = TokenIssuer.newRefreshToken()
        switch try await sessions.rotate(tokenHash: hash, newTokenHash: TokenIssuer.hash(next), lifetime: issuer.refreshTokenLifetime, logger: context.logger) {
        case .rotated(let user, let sessionId):
            let response = RefreshResponse(
                token: try await issuer.accessToken(userId: user.id, role: user.role, sessionId: sessionId),
                refreshToken: next, expiresIn: Int(issuer.accessTokenLifetime.seconds)
            )
            await rememberForGrace(hash: hash, response: response, logger: context.logger)
            return response
        case .spent(let sessionId, _, let secondsAgo) where secondsAgo <= grace.seconds:
            // A concurrent refresh of the same token: answer with the pair the first one got.
            if let earlier = await pairFromGrace(hash: hash) { return earlier }
            throw APIError(status: 401, code: "refresh_token_spent", message: "this refresh token was just used; use the new one (session \(sessionId.uuidString.lowercased()) is still live)")
        case .spent(let sessionId, let userId, _):
            // A spent token replayed: someone holds a copy. End the whole session.
            try await sessions.revoke(sessionId: sessionId, reason: "refresh_token_reuse", logger: context.logger)
            await revoker.revoke(.session(sessionId.uuidString.lowercased(), reason: .revoked), logger: context.logger)
            context.logger.warning("refresh token reuse; session revoked", metadata: [
                "session_id": "\(sessionId.uuidString.lowercased())", "user_id": "\(userId.uuidString.lowercased())",
            ])
            throw APIError(status: 401, code: "refresh_token_reused", message: "this refresh token was already used; the session is revoked")
        case .refused:
            throw APIError(status: 401, code: "invalid_refresh_token", message: "the refresh token is unknown, expired or revoked")
        }
    }

    private func graceKey(_ hash: String) -> String { "guildhall:auth:refresh-grace:\(hash)" }

    private func rememberForGrace(hash: String, response: RefreshResponse, logger: Logger) async {
        guard let json = try? GuildJSON.string(response) else { return }
        do {
            _ = try await redis.send(["SET", graceKey(hash), json, "PX", String(Int(grace.seconds * 1000))])
        } catch {
            logger.warning("refresh grace entry not stored", metadata: ["error": "\(error)"])
        }
    }

    /// The pair a concurrent refresh got; waits briefly for it to be stored.
    private func pairFromGrace(hash: String) async -> RefreshResponse? {
        for _ in 0..<20 {
            if let value = try? await redis.send(["GET", graceKey(hash)]), let json = value.string,
                let response = try? GuildJSON.decoder.decode(RefreshResponse.self, from: Data(json.utf8))
            {
                return response
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }
}
