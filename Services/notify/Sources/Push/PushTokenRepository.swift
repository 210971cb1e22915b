import Foundation
import GuildPostgres
import GuildServiceKit
import Logging
import PostgresNIO

/// A device's platform, as the app says when it registers.
enum PushPlatform: String, Sendable, CaseIterable {
    case android, ios, web
}

/// Devices' FCM registration tokens (`push_tokens`): each token belongs to one user and platform.
struct PushTokenRepository: Sendable {
    let database: Database

    /// Gives `token` to `userId` on `platform`, taking it from whoever had it (a device changes hands
    /// or accounts: the newest registration wins).
    func register(_ token: String, userId: String, platform: PushPlatform, logger: Logger) async throws {
        try await database.connection(logger: logger) { connection in
            _ = try await connection.query(
                """
                INSERT INTO push_tokens (token, user_id, platform) VALUES (\(token), \(userId), \(platform.rawValue))
                ON CONFLICT (token) DO UPDATE SET user_id = EXCLUDED.user_id, platform = EXCLUDED.platform, updated_at = now()
                """,
                logger: logger
            )
        }
    }

    /// Removes `userId`'s `token`; false when they have no such token.
    func remove(_ token: String, userId: String, logger: Logger) async throws -> Bool {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                "DELETE FROM push_tokens WHERE token = \(token) AND user_id = \(userId) RETURNING 1", logger: logger
            )
            for try await _ in rows.decode(Int.self) { return true }
            return false
        }
    }

    /// Drops tokens FCM reports as dead, whoever holds them; returns how many were still there.
    static func drop(_ tokens: [String], on connection: PostgresConnection, logger: Logger) async throws -> Int {
        guard !tokens.isEmpty else { return 0 }
        let rows = try await connection.query("DELETE FROM push_tokens WHERE token = ANY(\(tokens)) RETURNING 1", logger: logger)
        var dropped = 0
        for try await _ in rows.decode(Int.self) { dropped += 1 }
        return dropped
    }

    /// The tokens of each of `userIds`.
    static func tokens(of userIds: [String], on connection: PostgresConnection, logger: Logger) async throws -> [String: [String]] {
        guard !userIds.isEmpty else { return [:] }
        let rows = try await connection.query(
            "SELECT user_id, token FROM push_tokens WHERE user_id = ANY(\(userIds)) ORDER BY user_id, created_at, token",
            logger: logger
        )
        var found: [String: [String]] = [:]
        for try await (userId, token) in rows.decode((String, String).self) { found[userId, default: []].append(token) }
        return found
    }
}
