import Crypto
import Foundation
import GuildAuth
import HTTPTypes
import Hummingbird

/// Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): every
/// successful password login hands the client a signed token that says "this device has logged
/// in to this account before". A login that presents one for the account it names is braked per
/// token, not per address or per account, so spraying from an address (or guessing one account)
/// locks out the guesser without locking out the account's owner on a device they used before —
/// nor everyone else behind the same carrier-grade NAT.
///
/// A token is `v1.<user id>.<issued at>.<nonce>.<HMAC-SHA256>`, base64url where binary. The MAC key
/// is derived (HKDF) from auth's signing key, which every replica shares, so any replica checks a
/// token another one issued; rotating the signing key retires every device token with it (their
/// owners log in once as untrusted clients and get new ones). Nothing is stored per token: the
/// brake's counters (``LoginThrottle``) are keyed by the nonce.
struct DeviceTokens: Sendable {
    /// The browser cookie.
    static let cookieName = "guildhall_device"
    /// The header for apps that keep no cookies.
    static let headerName = HTTPField.Name("X-Device-Token")!
    /// The only path the cookie is sent to.
    static let cookiePath = "/api/auth/login"

    /// A token whose signature and age are good: a device that logged in to `userId` before.
    struct Device: Sendable, Equatable {
        var userId: UUID
        /// The token's random part; the brake counts a device's failures under it.
        var nonce: String
    }

    private let key: SymmetricKey
    /// How long a token is honoured (`LOGIN_DEVICE_TOKEN_TTL`, seconds); also the cookie's Max-Age.
    let lifetimeSeconds: Int
    /// Whether the cookie is `Secure` (production, where the public side is HTTPS).
    let secureCookie: Bool

    init(signingKey: SigningKey, lifetimeSeconds: Int, secureCookie: Bool) {
        self.key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: Data(signingKey.privateKey.pemRepresentation.utf8)),
            info: Data("guildhall login device token v1".utf8),
            outputByteCount: 32
        )
        self.lifetimeSeconds = lifetimeSeconds
        self.secureCookie = secureCookie
    }

    // MARK: - Issuing

    /// A new token for `userId`.
    func issue(userId: UUID, now: Date = Date()) -> String {
        let nonce = Data(SymmetricKey(size: .bits128).withUnsafeBytes { Array($0) }).base64URLEncodedString()
        let payload = "v1.\(userId.uuidString.lowercased()).\(Int(now.timeIntervalSince1970)).\(nonce)"
        return payload + "." + Data(HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: key)).base64URLEncodedString()
    }

    /// The `Set-Cookie` value that stores `token` in a browser: sent back to the login route only,
    /// never readable by scripts, never sent by other sites' requests.
    func setCookie(_ token: String) -> String {
        "\(Self.cookieName)=\(token); Path=\(Self.cookiePath); Max-Age=\(lifetimeSeconds); HttpOnly; SameSite=Strict\(secureCookie ? "; Secure" : "")"
    }

    // MARK: - Checking

    /// The device a token stands for, or nil when it is malformed, forged or too old.
    func verify(_ token: String, now: Date = Date()) -> Device? {
        guard token.utf8.count <= 200 else { return nil }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "v1",
            let mac = Data(base64URLEncoded: String(parts[4])), mac.count == 32,
            let nonceBytes = Data(base64URLEncoded: String(parts[3])), nonceBytes.count == 16,
            let issuedAt = Int(parts[2]),
            let userId = UUID(uuidString: String(parts[1]))
        else { return nil }
        let payload = parts[0..<4].joined(separator: ".")
        // Constant-time comparison.
        guard HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data(payload.utf8), using: key) else { return nil }
        let age = Int(now.timeIntervalSince1970) - issuedAt
        guard age >= -300, age <= lifetimeSeconds else { return nil }
        return Device(userId: userId, nonce: String(parts[3]))
    }

    /// The token a request presents: the header (apps) if there is one, else the cookie.
    static func presented(in request: Request) -> String? {
        if let header = request.headers[headerName], !header.isEmpty { return header }
        return request.cookies[cookieName]?.value
    }
}
