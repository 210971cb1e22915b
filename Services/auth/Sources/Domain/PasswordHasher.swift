import Crypto
import Foundation
import GuildCore
import HummingbirdBcrypt
import NIOPosix

/// bcrypt, off the event loops: hashing is deliberately slow.
///
/// bcrypt reads only the first 72 bytes of what it is given, so a password is first reduced to
/// base64(SHA-256(password)) — 44 bytes — and that is hashed (stored as ``prehashed`` + the
/// bcrypt hash): passwords of up to 128 characters count to their last one. Hashes stored
/// before (plain bcrypt of the password) are still verified as they were made.
struct PasswordHasher: Sendable {
    let cost: UInt8
    private let decoyHash: String

    /// Creates the hasher; it hashes one throwaway password at the same cost, for unknown users —
    /// on the thread pool like every hash, since start-up runs on the event loops too.
    static func make(cost: UInt8) async throws -> PasswordHasher {
        let decoy = try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash("decoy-\(UInt64.random(in: 0...UInt64.max))", cost: cost) }
        return PasswordHasher(cost: cost, decoyHash: decoy)
    }

    private init(cost: UInt8, decoyHash: String) {
        self.cost = cost
        self.decoyHash = decoyHash
    }

    /// What a stored hash of a pre-hashed password starts with.
    static let prehashed = "$gh-sha256$"

    /// What bcrypt is given for `password`.
    static func prehash(_ password: String) -> String {
        Data(SHA256.hash(data: Data(password.utf8))).base64EncodedString()
    }

    /// Hashes a new password.
    func hash(_ password: String) async throws -> String {
        let cost = self.cost
        let input = Self.prehash(password)
        return try await NIOThreadPool.singleton.runIfActive { Self.prehashed + Bcrypt.hash(input, cost: cost) }
    }

    /// Checks a password; without a stored hash it still spends the time, so timing does not tell
    /// whether the account exists.
    func verify(_ password: String, against hash: String?) async throws -> Bool {
        let stored = hash ?? decoyHash
        let matches = try await NIOThreadPool.singleton.runIfActive {
            stored.hasPrefix(Self.prehashed)
                ? Bcrypt.verify(Self.prehash(password), hash: String(stored.dropFirst(Self.prehashed.count)))
                : Bcrypt.verify(password, hash: stored)
        }
        return matches && hash != nil
    }

    /// The longest password, in characters (Unicode code points, as JSON Schema counts them).
    static let maxLength = 128

    /// A password presented to be checked (a login's, a change's current one): 1 to
    /// ``maxLength`` characters, else a 400 naming `field`.
    static func checkPresented(_ password: String, field: String) throws {
        guard (1...maxLength).contains(password.unicodeScalars.count) else {
            throw APIError.invalidField(field, "must be 1 to \(maxLength) characters")
        }
    }

    /// Why `password` may not be the password of `username`; nil when it may.
    static func validate(_ password: String, username: String) -> String? {
        let length = password.unicodeScalars.count
        if length < 8 || length > maxLength { return "must be 8 to \(maxLength) characters" }
        if password.lowercased() == username.lowercased() { return "must not be the username" }
        return nil
    }
}
