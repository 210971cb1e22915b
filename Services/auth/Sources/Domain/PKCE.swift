import Crypto
import Foundation
import GuildCore

/// Proof Key for Code Exchange (RFC 7636): the verifiers and challenges of Discord logins.
enum PKCE {
    /// The S256 challenge of a PKCE verifier: base64url(SHA-256(verifier)), unpadded.
    static func challenge(of verifier: String) -> String {
        Data(SHA256.hash(data: Data(verifier.utf8))).base64URLEncodedString()
    }

    /// A PKCE verifier or challenge: 43 to 128 of the unreserved characters (RFC 7636).
    static func isVerifier(_ text: String) -> Bool {
        isText(text, alsoAllowing: "-._~")
    }

    /// An app's own PKCE challenge from `GET /api/discord/auth`: nil when none is given (a method
    /// alone binds nothing); a 400 naming the field when it is malformed or its method is not
    /// S256 (the only one, so also taken when none is named; plain is refused).
    static func appChallenge(_ challenge: String?, method: String?) throws -> String? {
        guard method == nil || method == "S256" else { throw APIError.invalidField("code_challenge_method", "must be S256") }
        guard let challenge else { return nil }
        guard isText(challenge, alsoAllowing: "-_") else {
            throw APIError.invalidField("code_challenge", "must be 43 to 128 base64url characters (S256: base64url of the verifier's SHA-256)")
        }
        return challenge
    }

    /// 43 to 128 ASCII letters, digits and the characters of `extra`.
    private static func isText(_ text: String, alsoAllowing extra: String) -> Bool {
        (43...128).contains(text.utf8.count) && text.utf8.allSatisfy { byte in
            (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) || extra.utf8.contains(byte)
        }
    }
}
