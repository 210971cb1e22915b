import Foundation
import GuildCore
import JWTKit
import Synchronization

/// What access tokens must say to be accepted.
public struct TokenPolicy: Sendable, Equatable {
    /// Expected `iss`.
    public var issuer: String
    /// Expected `aud`.
    public var audience: String

    /// Creates a policy.
    public init(issuer: String = "guildhall-auth", audience: String = "guildhall") {
        self.issuer = issuer
        self.audience = audience
    }
}

/// Why a token was refused. All of them end as a 401.
public enum TokenError: Error, Sendable, Equatable {
    /// No signing keys are loaded yet.
    case noKeys
    /// Malformed, wrongly signed, wrong algorithm, expired, or wrong issuer/audience.
    case invalid(String)
}

/// Verifies access tokens against a set of public keys, remembering recent successes.
///
/// A token seen before is answered from a bounded two-generation cache keyed by the token itself,
/// still honouring its expiry, so the signature is checked once per token, not once per request.
/// Given a ``RevocationList``, tokens of revoked sessions and disabled users are refused as well.
public final class TokenVerifier: Sendable {
    private let keys: JWTKeyCollection
    private let policy: TokenPolicy
    private let capacity: Int
    private let cache: Mutex<(current: [String: Identity], previous: [String: Identity])>
    private let hasKeys: Atomic<Bool>
    private let revocations: RevocationList?

    /// Creates a verifier with no keys; add them with ``add(jwksJSON:)`` or ``add(publicKey:kid:)``.
    /// With `revocations`, tokens of revoked sessions and disabled users are refused too.
    public init(policy: TokenPolicy, cacheCapacity: Int = 20_000, revocations: RevocationList? = nil) {
        self.revocations = revocations
        self.keys = JWTKeyCollection()
        self.policy = policy
        self.capacity = max(1, cacheCapacity / 2)
        self.cache = Mutex(([:], [:]))
        self.hasKeys = Atomic(false)
    }

    /// Adds the keys of a JWKS document (as served at `/api/auth/jwks`).
    public func add(jwksJSON: String) async throws {
        try await keys.add(jwksJSON: jwksJSON)
        hasKeys.store(true, ordering: .releasing)
    }

    /// Adds one Ed25519 public key.
    public func add(publicKey: EdDSA.PublicKey, kid: String) async {
        await keys.add(eddsa: publicKey, kid: JWKIdentifier(string: kid))
        hasKeys.store(true, ordering: .releasing)
    }

    /// Whether any key is loaded.
    public var isReady: Bool { hasKeys.load(ordering: .acquiring) }

    /// What the cache of verified tokens knows about a token, without suspending.
    public enum CachedAnswer: Sendable, Equatable {
        /// Verified before, unexpired and not revoked.
        case valid(Identity)
        /// Verified before, but expired or revoked since.
        case refused
        /// Not seen recently: ``verify(_:now:)`` must check its signature.
        case unknown
    }

    /// Answers from the cache alone: cheap enough for an event loop, and what nearly every
    /// request of a signed-in user gets (a token is used many times during its life).
    public func cachedAnswer(_ token: String, now: Date = Date()) -> CachedAnswer {
        guard let cached = cached(token) else { return .unknown }
        guard cached.expiresAt > now, !isRevoked(cached) else { return .refused }
        return .valid(cached)
    }

    /// Verifies `token` and returns who it identifies.
    public func verify(_ token: String, now: Date = Date()) async throws(TokenError) -> Identity {
        switch cachedAnswer(token, now: now) {
        case .valid(let identity): return identity
        case .refused: throw .invalid("expired or revoked")
        case .unknown: break
        }
        guard isReady else { throw .noKeys }
        guard token.utf8.count < 4096, Self.headerUsesEdDSAWithKid(token) else { throw .invalid("unsupported token header") }
        let claims: AccessTokenClaims
        do {
            claims = try await keys.verify(token, as: AccessTokenClaims.self)
        } catch {
            throw .invalid("signature or claims rejected")
        }
        guard claims.iss.value == policy.issuer else { throw .invalid("wrong issuer") }
        guard claims.aud.value.contains(policy.audience) else { throw .invalid("wrong audience") }
        guard let role = Role(rawValue: claims.role), !claims.sub.value.isEmpty, !claims.sid.isEmpty else {
            throw .invalid("incomplete claims")
        }
        let identity = Identity(userId: claims.sub.value, role: role, sessionId: claims.sid, tokenId: claims.jti.value, expiresAt: claims.exp.value)
        remember(token, identity)
        try checkRevocation(identity)
        return identity
    }

    private func checkRevocation(_ identity: Identity) throws(TokenError) {
        if isRevoked(identity) { throw .invalid("revoked") }
    }

    private func isRevoked(_ identity: Identity) -> Bool {
        revocations?.isRevoked(sessionId: identity.sessionId, userId: identity.userId) ?? false
    }

    // MARK: - Cache

    private func cached(_ token: String) -> Identity? {
        cache.withLock { $0.current[token] ?? $0.previous[token] }
    }

    private func remember(_ token: String, _ identity: Identity) {
        cache.withLock { cache in
            if cache.current.count >= capacity {
                cache.previous = cache.current
                cache.current = [:]
            }
            cache.current[token] = identity
        }
    }

    /// The token of an `Authorization: Bearer <token>` header (the scheme in any case), nil for
    /// any other header.
    public static func bearerToken(_ authorization: String) -> String? {
        let utf8 = authorization.utf8
        guard utf8.count > 7, utf8.prefix(7).elementsEqual("bearer ".utf8, by: { $0 == $1 || ($1 >= 0x61 && $0 == $1 - 0x20) }) else {
            return nil
        }
        return String(Substring(utf8.dropFirst(7)))
    }

    /// Only `EdDSA` with a `kid` is accepted; `alg: none`, HMAC confusion and key-less headers are refused up front.
    static func headerUsesEdDSAWithKid(_ token: String) -> Bool {
        guard let headerPart = token.split(separator: ".", omittingEmptySubsequences: false).first,
            let data = Data(base64URLEncoded: String(headerPart)),
            let header = try? JSONDecoder().decode(Header.self, from: data)
        else { return false }
        return header.alg == "EdDSA" && !(header.kid ?? "").isEmpty
    }

    private struct Header: Decodable {
        var alg: String
        var kid: String?
    }
}

extension Data {
    /// Decodes base64url without padding (JWT segments).
    public init?(base64URLEncoded text: String) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64.append("=") }
        self.init(base64Encoded: base64)
    }

    /// Encodes as base64url without padding.
    public func base64URLEncodedString() -> String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
