import Foundation
import GuildAuth
import GuildCore
import JWTKit
import GuildTestSupport
import Testing

@Suite("Access tokens are accepted only when everything about them is right", .watched)
struct TokenVerifierTests {
    let key: SigningKey
    let policy = TokenPolicy(issuer: "guildhall-auth", audience: "guildhall")

    init() throws { key = try SigningKey.generate() }

    func verifier() async -> TokenVerifier {
        let verifier = TokenVerifier(policy: policy)
        await verifier.add(publicKey: key.privateKey.publicKey, kid: key.kid)
        return verifier
    }

    func sign(
        _ claims: AccessTokenClaims? = nil,
        with signingKey: SigningKey? = nil,
        kid: String? = nil
    ) async throws -> String {
        let signer = signingKey ?? key
        let keys = JWTKeyCollection()
        await keys.add(eddsa: signer.privateKey, kid: JWKIdentifier(string: kid ?? signer.kid))
        return try await keys.sign(claims ?? Self.claims(), kid: JWKIdentifier(string: kid ?? signer.kid))
    }

    static func claims(issuer: String = "guildhall-auth", audience: String = "guildhall", role: Role = .user, expiresIn: TimeInterval = 600) -> AccessTokenClaims {
        AccessTokenClaims(
            sub: "user-1", role: role, sid: "session-1", issuer: issuer, audience: audience,
            issuedAt: Date(), expiresAt: Date().addingTimeInterval(expiresIn), jti: UUID().uuidString
        )
    }

    @Test func aValidTokenGivesTheIdentity() async throws {
        let identity = try await verifier().verify(try await sign(Self.claims(role: .moderator)))
        #expect(identity.userId == "user-1")
        #expect(identity.role == .moderator)
        #expect(identity.sessionId == "session-1")
    }

    @Test func theJWKSDocumentVerifiesTokensToo() async throws {
        let verifier = TokenVerifier(policy: policy)
        let json = String(decoding: try JSONEncoder().encode(key.jwks), as: UTF8.self)
        try await verifier.add(jwksJSON: json)
        #expect(try await verifier.verify(try await sign()).userId == "user-1")
    }

    @Test func expiredWrongIssuerAndWrongAudienceAreRefused() async throws {
        let verifier = await verifier()
        for claims in [Self.claims(expiresIn: -5), Self.claims(issuer: "someone-else"), Self.claims(audience: "another-app")] {
            let token = try await sign(claims)
            await #expect(throws: TokenError.self) { try await verifier.verify(token) }
        }
    }

    @Test func aTokenSignedByAnotherKeyIsRefused() async throws {
        let stranger = try SigningKey.generate()
        let forged = try await sign(with: stranger, kid: key.kid)
        await #expect(throws: TokenError.self) { try await verifier().verify(forged) }
    }

    @Test func unsignedAndHMACTokensAreRefused() async throws {
        let payload = Data(#"{"sub":"user-1","role":"admin","sid":"s","iss":"guildhall-auth","aud":["guildhall"],"exp":4102444800,"iat":1,"jti":"x"}"#.utf8)
            .base64URLEncodedString()
        let none = Data(#"{"alg":"none","typ":"JWT"}"#.utf8).base64URLEncodedString() + "." + payload + "."
        let hmacKeys = JWTKeyCollection()
        await hmacKeys.add(hmac: HMACKey(from: key.privateKey.publicKey.rawRepresentation), digestAlgorithm: .sha256, kid: JWKIdentifier(string: key.kid))
        let hmac = try await hmacKeys.sign(Self.claims(role: .admin), kid: JWKIdentifier(string: key.kid))
        let verifier = await verifier()
        for token in [none, hmac, "", "garbage", "a.b.c", String(repeating: "x", count: 5000)] {
            await #expect(throws: TokenError.self) { try await verifier.verify(token) }
        }
    }

    @Test func aTamperedPayloadIsRefused() async throws {
        let token = try await sign()
        var parts = token.split(separator: ".").map(String.init)
        parts[1] = Data(#"{"sub":"user-2","role":"admin","sid":"s","iss":"guildhall-auth","aud":["guildhall"],"exp":4102444800,"iat":1,"jti":"x"}"#.utf8)
            .base64URLEncodedString()
        await #expect(throws: TokenError.self) { try await verifier().verify(parts.joined(separator: ".")) }
    }

    @Test func aCachedTokenStillExpires() async throws {
        let verifier = await verifier()
        let token = try await sign(Self.claims(expiresIn: 60))
        _ = try await verifier.verify(token)
        await #expect(throws: TokenError.self) { try await verifier.verify(token, now: Date().addingTimeInterval(120)) }
    }

    @Test func theCacheAnswersOnlyForTokensItHasVerifiedAndStillHonoursExpiryAndRevocation() async throws {
        let revocations = RevocationList(retention: 3600)
        let verifier = TokenVerifier(policy: policy, revocations: revocations)
        await verifier.add(publicKey: key.privateKey.publicKey, kid: key.kid)
        let token = try await sign(Self.claims(expiresIn: 60))
        #expect(verifier.cachedAnswer(token) == .unknown)
        #expect(verifier.cachedAnswer("not-a-token") == .unknown)
        let identity = try await verifier.verify(token)
        #expect(verifier.cachedAnswer(token) == .valid(identity))
        #expect(verifier.cachedAnswer(token, now: Date().addingTimeInterval(120)) == .refused)
        revocations.add(.session(identity.sessionId))
        #expect(verifier.cachedAnswer(token) == .refused)
        await #expect(throws: TokenError.self) { try await verifier.verify(token) }
    }

    @Test func onlyABearerAuthorizationHeaderGivesAToken() {
        #expect(TokenVerifier.bearerToken("Bearer abc.def.ghi") == "abc.def.ghi")
        #expect(TokenVerifier.bearerToken("bearer abc") == "abc")
        #expect(TokenVerifier.bearerToken("BEARER abc") == "abc")
        #expect(TokenVerifier.bearerToken("Bearer ") == nil)
        #expect(TokenVerifier.bearerToken("Bearer") == nil)
        #expect(TokenVerifier.bearerToken("Basic dXNlcjpwYXNz") == nil)
        #expect(TokenVerifier.bearerToken("Bearer\u{0}abc") == nil)
        #expect(TokenVerifier.bearerToken("Bearerxabc") == nil)
        #expect(TokenVerifier.bearerToken("Béarer abc") == nil)
    }
}
