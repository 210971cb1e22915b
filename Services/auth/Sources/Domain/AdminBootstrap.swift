import GuildCore
import GuildPostgres
import GuildServiceKit
import Logging

/// Creates the first admin from `ADMIN_USERNAME` / `ADMIN_PASSWORD` (start-up and `guildctl create-admin`).
public struct AdminBootstrap: Sendable {
    let users: UserRepository
    let hasher: PasswordHasher

    /// Uses the auth schema through `database`.
    public static func make(database: Database, bcryptCost: UInt8 = 11) async throws -> AdminBootstrap {
        AdminBootstrap(users: UserRepository(database: database), hasher: try await PasswordHasher.make(cost: bcryptCost))
    }

    init(users: UserRepository, hasher: PasswordHasher) {
        self.users = users
        self.hasher = hasher
    }

    /// Creates `username` as an admin unless the name exists; returns whether it created it.
    @discardableResult
    public func ensureAdmin(username: String, password: String, logger: Logger) async throws -> Bool {
        if let reason = PasswordHasher.validate(password, username: username) { throw APIError.invalidField("ADMIN_PASSWORD", reason) }
        if try await users.find(username: username, logger: logger) != nil { return false }
        do {
            _ = try await users.create(username: username, passwordHash: try await hasher.hash(password), role: .admin, logger: logger)
        } catch AccountFailure.usernameTaken {
            return false
        }
        logger.info("admin created", metadata: ["username": "\(username)"])
        return true
    }
}
