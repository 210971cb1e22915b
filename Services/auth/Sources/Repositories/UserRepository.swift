import Foundation
import GuildCore
import GuildEvents
import GuildPostgres
import GuildServiceKit
import Logging
import PostgresNIO

/// Accounts on PostgreSQL (the `auth` schema), and the sessions opened at login.
struct UserRepository: Sendable {
    let database: Database

    func find(username: String, logger: Logger) async throws -> User? {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                "SELECT \(unescaped: Self.columns) FROM users WHERE lower(username) = lower(\(username))",
                logger: logger
            )
            return try await Self.first(rows)
        }
    }

    func find(id: UUID, logger: Logger) async throws -> User? {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query("SELECT \(unescaped: Self.columns) FROM users WHERE id = \(id)", logger: logger)
            return try await Self.first(rows)
        }
    }

    /// The account linked to the Discord member `discordId` (at most one: the column is unique), if any.
    /// The linked account's Discord name and avatar, as Discord says them now; the account as it is after.
    func refreshDiscordProfile(of id: UUID, username: String, avatar: String?, logger: Logger) async throws -> User? {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                """
                UPDATE users SET discord_username = \(username), avatar = \(avatar)
                WHERE id = \(id) RETURNING \(unescaped: Self.columns)
                """,
                logger: logger
            )
            return try await Self.first(rows)
        }
    }

    /// Gives the account `username`; nil when there is no such account, 409 when the name is taken.
    func rename(_ id: UUID, to username: String, logger: Logger) async throws -> User? {
        do {
            return try await database.connection(logger: logger) { connection in
                let rows = try await connection.query(
                    "UPDATE users SET username = \(username) WHERE id = \(id) RETURNING \(unescaped: Self.columns)", logger: logger
                )
                return try await Self.first(rows)
            }
        } catch where DatabaseErrors.sqlState(error) == "23505" {
            throw AccountFailure.usernameTaken
        }
    }

    func find(discordId: String, logger: Logger) async throws -> User? {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query("SELECT \(unescaped: Self.columns) FROM users WHERE discord_id = \(discordId)", logger: logger)
            return try await Self.first(rows)
        }
    }

    func create(
        username: String, passwordHash: String?, role: Role, discordId: String?, discordUsername: String? = nil, avatar: String?, logger: Logger
    ) async throws -> User {
        do {
            return try await database.transaction(logger: logger) { connection in
                try await Self.insert(
                    username: username, passwordHash: passwordHash, role: role, discordId: discordId, discordUsername: discordUsername, avatar: avatar,
                    on: connection, logger: logger
                )
            }
        } catch where DatabaseErrors.sqlState(error) == "23505" {
            throw AccountFailure.usernameTaken
        }
    }

    /// An admin's new user, once per `Idempotency-Key`: a retry with the key answers the user made.
    func create(username: String, passwordHash: String, role: Role, key: IdempotencyKey?, logger: Logger) async throws -> StoredReply {
        do {
            return try await database.idempotent(key, status: 201, logger: logger) { connection in
                UserResponse(try await Self.insert(username: username, passwordHash: passwordHash, role: role, discordId: nil, avatar: nil, on: connection, logger: logger))
            }
        } catch where DatabaseErrors.sqlState(error) == "23505" {
            throw AccountFailure.usernameTaken
        }
    }

    /// Adds the user and its `auth.user_created` event.
    private static func insert(
        username: String, passwordHash: String?, role: Role, discordId: String?, discordUsername: String? = nil, avatar: String?,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> User {
        let rows = try await connection.query(
            """
            INSERT INTO users (id, username, password_hash, role, discord_id, discord_username, avatar)
            VALUES (\(UUID()), \(username), \(passwordHash), \(role.rawValue), \(discordId), \(discordUsername), \(avatar))
            RETURNING \(unescaped: columns)
            """,
            logger: logger
        )
        guard let user = try await first(rows) else { throw AccountFailure.notWritten }
        let event = try EventEnvelope(
            UserCreated(username: user.username, role: user.role.rawValue, discordId: user.discordId), userId: user.id.uuidString.lowercased()
        )
        try await Outbox.write(event, on: connection, logger: logger)
        return user
    }

    func openSession(
        userId: UUID, platform: String, device: String?, method: String, refreshTokenHash: String, lifetime: Duration, logger: Logger
    ) async throws -> UUID {
        let sessionId = UUID()
        let expiresAt = Date().addingTimeInterval(lifetime.seconds)
        try await database.transaction(logger: logger) { connection in
            try await connection.query(
                """
                INSERT INTO sessions (id, user_id, platform, device, method, expires_at)
                VALUES (\(sessionId), \(userId), \(platform), \(device), \(method), \(expiresAt))
                """,
                logger: logger
            )
            try await connection.query(
                "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES (\(refreshTokenHash), \(sessionId), \(expiresAt))",
                logger: logger
            )
        }
        return sessionId
    }

    /// Replaces the password of `userId`, if its hash is still `currentHash`, and ends every other
    /// session of the user, in one transaction. Returns the sessions it ended, or nil when the
    /// password changed meanwhile (or the user is gone).
    func changePassword(
        userId: UUID, from currentHash: String?, to newHash: String, keeping session: UUID, logger: Logger
    ) async throws -> [String]? {
        try await database.transaction(logger: logger) { connection in
            let changed = try await connection.query(
                """
                UPDATE users SET password_hash = \(newHash)
                WHERE id = \(userId) AND password_hash IS NOT DISTINCT FROM \(currentHash) RETURNING id
                """,
                logger: logger
            )
            guard try await changed.decode(UUID.self).first(where: { _ in true }) != nil else { return nil }
            let revoked = try await connection.query(
                """
                UPDATE sessions SET revoked_at = now(), revoked_reason = 'password_changed'
                WHERE user_id = \(userId) AND id <> \(session) AND revoked_at IS NULL RETURNING id
                """,
                logger: logger
            )
            var ended: [String] = []
            for try await id in revoked.decode(UUID.self) { ended.append(id.uuidString.lowercased()) }
            return ended
        }
    }

    // MARK: - Rows

    /// The columns ``all(_:)`` reads, in its order (every query that returns users selects these).
    static let columns = "id, username, password_hash, role, discord_id, discord_username, avatar, disabled, created_at"

    /// The users of rows of ``columns``.
    static func all(_ rows: PostgresRowSequence) async throws -> [User] {
        var users: [User] = []
        for try await (id, username, hash, role, discordId, discordUsername, avatar, disabled, createdAt) in rows.decode(
            (UUID, String, String?, String, String?, String?, String?, Bool, Date).self
        ) {
            users.append(User(
                id: id, username: username, passwordHash: hash, role: Role(rawValue: role) ?? .user,
                discordId: discordId, discordUsername: discordUsername, avatar: avatar, disabled: disabled, createdAt: createdAt
            ))
        }
        return users
    }

    private static func first(_ rows: PostgresRowSequence) async throws -> User? {
        try await all(rows).first
    }
}

extension UserRepository {
    /// Creates a local (password) user.
    func create(username: String, passwordHash: String?, role: Role, logger: Logger) async throws -> User {
        try await create(username: username, passwordHash: passwordHash, role: role, discordId: nil, avatar: nil, logger: logger)
    }
}
