import HummingbirdBcrypt
import NIOPosix

/// bcrypt, off the event loops: hashing is deliberately slow.
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

    /// Hashes a new password.
    func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Checks a password; without a stored hash it still spends the time, so timing does not tell
    /// whether the account exists.
    func verify(_ password: String, against hash: String?) async throws -> Bool {
        let stored = hash ?? decoyHash
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: stored) }
        return matches && hash != nil
    }

    /// Valid passwords must fit bcrypt's 72-byte input.
    static func validate(_ password: String) -> String? {
        if password.unicodeScalars.count < 8 { return "must be at least 8 characters" }
        if password.utf8.count > 72 { return "must be at most 72 bytes" }
        return nil
    }
}
