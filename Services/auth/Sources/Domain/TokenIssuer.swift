import Crypto
import Foundation
import GuildAuth
import GuildCore
import JWTKit

/// Signs access tokens and makes refresh tokens.
struct TokenIssuer: Sendable {
    let key: SigningKey
    let keys: JWTKeyCollection
    let policy: TokenPolicy
    let accessTokenLifetime: Duration
    let refreshTokenLifetime: Duration

    init(key: SigningKey, policy: TokenPolicy, accessTokenLifetime: Duration, refreshTokenLifetime: Duration) async {
        self.key = key
        self.keys = JWTKeyCollection()
        await keys.add(eddsa: key.privateKey, kid: JWKIdentifier(string: key.kid))
        self.policy = policy
        self.accessTokenLifetime = accessTokenLifetime
        self.refreshTokenLifetime = refreshTokenLifetime
    }

    /// A signed access token for `userId` in `sessionId`.
    func accessToken(userId: UUID, role: Role, sessionId: UUID, now: Date = Date()) async throws -> String {
        let claims = AccessTokenClaims(
            sub: userId.uuidString.lowercased(),
            role: role,
            sid: sessionId.uuidString.lowercased(),
            issuer: policy.issuer,
            audience: policy.audience,
            issuedAt: now,
            expiresAt: now.addingTimeInterval(accessTokenLifetime.seconds),
            jti: UUID().uuidString.lowercased()
        )
        return try await keys.sign(claims, kid: JWKIdentifier(string: key.kid))
    }

    /// A new opaque refresh token: 32 random bytes, base64url. Only its hash is stored.
    static func newRefreshToken() -> String {
        Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }).base64URLEncodedString()
    }

    /// The stored form of a refresh token.
    static func hash(_ token: String) -> String {
        SHA256.hash(data: Data(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}

extension Duration {
    /// The duration in seconds, as a `TimeInterval`.
    var seconds: TimeInterval {
        let (seconds, attoseconds) = components
        return TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18
    }
}
