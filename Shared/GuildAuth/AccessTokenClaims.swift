import Foundation
import GuildCore
import JWTKit

/// The claims of an access token. Signed by auth, verified by every service.
public struct AccessTokenClaims: JWTPayload, Equatable {
    /// The user id.
    public var sub: SubjectClaim
    /// The user's role when the token was issued.
    public var role: String
    /// The session the token belongs to; revoking the session revokes the token.
    public var sid: String
    /// Who issued it.
    public var iss: IssuerClaim
    /// Who it is for.
    public var aud: AudienceClaim
    /// When it stops being valid.
    public var exp: ExpirationClaim
    /// When it was issued.
    public var iat: IssuedAtClaim
    /// Unique id of this token.
    public var jti: IDClaim

    /// Creates the claims.
    public init(sub: String, role: Role, sid: String, issuer: String, audience: String, issuedAt: Date, expiresAt: Date, jti: String) {
        self.sub = .init(value: sub)
        self.role = role.rawValue
        self.sid = sid
        self.iss = .init(value: issuer)
        self.aud = .init(value: [audience])
        self.exp = .init(value: expiresAt)
        self.iat = .init(value: issuedAt)
        self.jti = .init(value: jti)
    }

    /// Checks expiry; issuer and audience are checked by ``TokenVerifier`` against its settings.
    public func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}

/// Who is calling: what a verified access token says.
public struct Identity: Sendable, Equatable {
    /// The user id.
    public var userId: String
    /// The user's role.
    public var role: Role
    /// The session id.
    public var sessionId: String
    /// The token's own id.
    public var tokenId: String
    /// When the token expires.
    public var expiresAt: Date

    /// Creates an identity.
    public init(userId: String, role: Role, sessionId: String, tokenId: String, expiresAt: Date) {
        self.userId = userId
        self.role = role
        self.sessionId = sessionId
        self.tokenId = tokenId
        self.expiresAt = expiresAt
    }
}
