@testable import AuthService
import Foundation
import GuildAuth
import GuildTestSupport
import Testing

/// auth's login device tokens, without a server: what verifies, and everything that must not.
@Suite("auth: login device tokens", .watched)
struct DeviceTokensTests {
    static let key = try! SigningKey.generate()
    let tokens = DeviceTokens(signingKey: Self.key, lifetimeSeconds: 3600, secureCookie: false)

    @Test func anIssuedTokenVerifiesForItsAccountWithAFreshNonce() {
        let user = UUID()
        let first = tokens.issue(userId: user), second = tokens.issue(userId: user)
        let device = tokens.verify(first)
        #expect(device?.userId == user)
        #expect(device != nil && device?.nonce != tokens.verify(second)?.nonce)
    }

    @Test func anotherKeysTokenDoesNotVerify() throws {
        let other = DeviceTokens(signingKey: try SigningKey.generate(), lifetimeSeconds: 3600, secureCookie: false)
        #expect(tokens.verify(other.issue(userId: UUID())) == nil)
        // Replicas with the same signing key accept each other's tokens.
        let replica = DeviceTokens(signingKey: try SigningKey(pem: Self.key.privateKey.pemRepresentation), lifetimeSeconds: 3600, secureCookie: false)
        #expect(replica.verify(tokens.issue(userId: UUID())) != nil)
    }

    @Test func changingAnyPartBreaksTheSignature() {
        let token = tokens.issue(userId: UUID())
        let parts = token.split(separator: ".").map(String.init)
        #expect(parts.count == 5)
        for index in 1..<5 {
            var changed = parts
            var characters = Array(changed[index])
            characters[1] = characters[1] == "1" ? "2" : "1"
            changed[index] = String(characters)
            #expect(tokens.verify(changed.joined(separator: ".")) == nil, "part \(index) changed")
        }
        let malformed = ["", "v1", "v2." + parts.dropFirst().joined(separator: "."), token + ".x", String(repeating: "a", count: 400), "v1.é.1.2.3"]
        for text in malformed {
            #expect(tokens.verify(text) == nil, "\(text.prefix(40))")
        }
    }

    @Test func aTokenOlderThanItsLifetimeIsRefused() {
        let issued = Date(timeIntervalSince1970: 1_800_000_000)
        let token = tokens.issue(userId: UUID(), now: issued)
        #expect(tokens.verify(token, now: issued.addingTimeInterval(3599)) != nil)
        #expect(tokens.verify(token, now: issued.addingTimeInterval(3601)) == nil)
        #expect(tokens.verify(token, now: issued.addingTimeInterval(-3600)) == nil)
    }

    @Test func theCookieIsHttpOnlyStrictAndLimitedToTheLoginPath() {
        #expect(tokens.setCookie("abc") == "guildhall_device=abc; Path=/api/auth/login; Max-Age=3600; HttpOnly; SameSite=Strict")
        let production = DeviceTokens(signingKey: Self.key, lifetimeSeconds: 3600, secureCookie: true)
        #expect(production.setCookie("abc").hasSuffix("; Secure"))
    }
}
