import Foundation
import GuildCore
import GuildPostgres
import GuildServiceKit
import Logging
import PostgresNIO

/// A change an admin asks for; nil fields stay as they are.
struct UserChange: Sendable {
    var role: Role?
    var disabled: Bool?
    /// `.some(nil)` unlinks Discord.
    var discordId: String??
}

/// Listing and changing accounts (staff and admin routes).
struct UserAdminRepository: Sendable {
    let database: Database

    private static var columns: String { UserRepository.columns }

    /// A page of users ordered by id, optionally filtered by a name fragment.
    func list(query: String?, after cursor: UUID?, limit: Int, logger: Logger) async throws -> [User] {
        let pattern = query.map { "%" + $0.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%" }
        return try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.columns) FROM users
                WHERE (\(pattern)::text IS NULL OR username ILIKE \(pattern))
                  AND (\(cursor)::uuid IS NULL OR id > \(cursor))
                ORDER BY id LIMIT \(limit)
                """,
                logger: logger
            )
            return try await Self.all(rows)
        }
    }

    /// Applies `change` and, when the account is disabled or its role changes, ends all its
    /// sessions (access tokens carry the role), in one transaction. Returns the user after the
    /// change and the sessions it ended, or nil when the user does not exist.
    func apply(_ change: UserChange, to id: UUID, logger: Logger) async throws -> (User, [String])? {
        do {
            return try await database.transaction(logger: logger) { connection in
                let discordGiven = change.discordId != nil
                let discordValue: String? = change.discordId ?? nil
                let rows = try await connection.query(
                    """
                    UPDATE users SET
                        role = coalesce(\(change.role?.rawValue), role),
                        disabled = coalesce(\(change.disabled), disabled),
                        discord_id = CASE WHEN \(discordGiven) THEN \(discordValue) ELSE discord_id END
                    WHERE id = \(id)
                    RETURNING \(unescaped: Self.columns)
                    """,
                    logger: logger
                )
                guard let user = try await Self.all(rows).first else { return nil }
                var ended: [String] = []
                if change.disabled == true || change.role != nil {
                    let reason = change.disabled == true ? "user_disabled" : "role_changed"
                    let revoked = try await connection.query(
                        "UPDATE sessions SET revoked_at = now(), revoked_reason = \(reason) WHERE user_id = \(id) AND revoked_at IS NULL RETURNING id",
                        logger: logger
                    )
                    for try await session in revoked.decode(UUID.self) { ended.append(session.uuidString.lowercased()) }
                }
                return (user, ended)
            }
        } catch where DatabaseErrors.sqlState(error) == "23505" {
            throw AccountFailure.discordIdTaken
        }
    }

    private static func all(_ rows: PostgresRowSequence) async throws -> [User] {
        try await UserRepository.all(rows)
    }
}
