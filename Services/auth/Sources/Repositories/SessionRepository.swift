import Foundation
import GuildPostgres
import Hummingbird
import GuildCore
import GuildServiceKit
import Logging
import PostgresNIO

/// What a refresh attempt found.
enum RefreshOutcome: Sendable {
    /// The token was live: it is now spent and `newTokenHash` replaces it.
    case rotated(user: User, sessionId: UUID)
    /// The token was spent `secondsAgo` seconds ago (a concurrent refresh, or a replay).
    case spent(sessionId: UUID, userId: UUID, secondsAgo: Double)
    /// Unknown, expired, or its session is revoked or expired, or the user is disabled.
    case refused
}

/// Sessions and their refresh tokens in the `auth` schema.
struct SessionRepository: Sendable {
    let database: Database

    /// Spends `tokenHash` and stores `newTokenHash` in its place, in one transaction; the row
    /// lock makes concurrent refreshes of one token take turns.
    func rotate(tokenHash: String, newTokenHash: String, lifetime: Duration, logger: Logger) async throws -> RefreshOutcome {
        try await database.transaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT r.session_id, r.spent_at IS NOT NULL, EXTRACT(EPOCH FROM now() - coalesce(r.spent_at, now()))::float8,
                       r.expires_at > now() AND s.revoked_at IS NULL AND s.expires_at > now() AND NOT u.disabled,
                       u.id, u.username, u.password_hash, u.role, u.discord_id, u.discord_username, u.avatar, u.disabled, u.created_at
                FROM refresh_tokens r JOIN sessions s ON s.id = r.session_id JOIN users u ON u.id = s.user_id
                WHERE r.token_hash = \(tokenHash)
                FOR UPDATE OF r, s
                """,
                logger: logger
            )
            var found: (UUID, Bool, Double, Bool, User)?
            for try await (sessionId, spent, ago, live, id, username, hash, role, discordId, discordUsername, avatar, disabled, createdAt) in rows.decode(
                (UUID, Bool, Double, Bool, UUID, String, String?, String, String?, String?, String?, Bool, Date).self
            ) {
                let user = User(
                    id: id, username: username, passwordHash: hash, role: Role(rawValue: role) ?? .user,
                    discordId: discordId, discordUsername: discordUsername, avatar: avatar, disabled: disabled, createdAt: createdAt
                )
                found = (sessionId, spent, ago, live, user)
            }
            guard let (sessionId, spent, ago, live, user) = found, live else { return .refused }
            if spent { return .spent(sessionId: sessionId, userId: user.id, secondsAgo: ago) }
            try await connection.query("UPDATE refresh_tokens SET spent_at = now() WHERE token_hash = \(tokenHash)", logger: logger)
            let expiresAt = Date().addingTimeInterval(lifetime.seconds)
            try await connection.query(
                "INSERT INTO refresh_tokens (token_hash, session_id, expires_at) VALUES (\(newTokenHash), \(sessionId), \(expiresAt))",
                logger: logger
            )
            try await connection.query("UPDATE sessions SET last_seen_at = now() WHERE id = \(sessionId)", logger: logger)
            return .rotated(user: user, sessionId: sessionId)
        }
    }

    /// Revokes one session (and with it every refresh token of it); returns whether it was live.
    @discardableResult
    func revoke(sessionId: UUID, reason: String, logger: Logger) async throws -> Bool {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                "UPDATE sessions SET revoked_at = now(), revoked_reason = \(reason) WHERE id = \(sessionId) AND revoked_at IS NULL RETURNING id",
                logger: logger
            )
            for try await _ in rows.decode(UUID.self) { return true }
            return false
        }
    }

    /// The owner of a session, when it exists.
    func owner(of sessionId: UUID, logger: Logger) async throws -> UUID? {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query("SELECT user_id FROM sessions WHERE id = \(sessionId)", logger: logger)
            for try await owner in rows.decode(UUID.self) { return owner }
            return nil
        }
    }

    /// Live sessions, of one user or of everyone, newest first.
    func live(userId: UUID?, currentSession: String, limit: Int, logger: Logger) async throws -> [SessionResponse] {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT id, user_id, platform, device, created_at, last_seen_at, expires_at FROM sessions
                WHERE revoked_at IS NULL AND expires_at > now() AND (\(userId)::uuid IS NULL OR user_id = \(userId))
                ORDER BY last_seen_at DESC LIMIT \(limit)
                """,
                logger: logger
            )
            var result: [SessionResponse] = []
            for try await (id, user, platform, device, created, seen, expires) in rows.decode((UUID, UUID, String, String?, Date, Date, Date).self) {
                result.append(SessionResponse(
                    id: id, userId: user, platform: platform, device: device,
                    createdAt: created, lastSeenAt: seen, expiresAt: expires, current: id.uuidString.lowercased() == currentSession
                ))
            }
            return result
        }
    }

    /// Sessions revoked in the last `window` and users that are disabled: what every replica
    /// must refuse, loaded at start and after a Redis reconnect.
    func revocations(window: Duration, logger: Logger) async throws -> (sessions: [(String, Date)], disabledUsers: Set<String>) {
        let since = Date().addingTimeInterval(-window.seconds)
        return try await database.connection(logger: logger) { connection in
            var sessions: [(String, Date)] = []
            let rows = try await connection.query("SELECT id, revoked_at FROM sessions WHERE revoked_at > \(since)", logger: logger)
            for try await (id, revokedAt) in rows.decode((UUID, Date).self) { sessions.append((id.uuidString.lowercased(), revokedAt)) }
            var users: Set<String> = []
            let disabled = try await connection.query("SELECT id FROM users WHERE disabled", logger: logger)
            for try await id in disabled.decode(UUID.self) { users.insert(id.uuidString.lowercased()) }
            return (sessions, users)
        }
    }
}
