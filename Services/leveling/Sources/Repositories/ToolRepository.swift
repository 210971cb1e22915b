import Foundation
import GuildCore
import GuildEvents
import GuildPostgres
import GuildServiceKit
import Logging
import PostgresNIO

/// The tool catalogue and who has unlocked what.
///
/// A member has a tool when their level reaches its unlock level or an admin unlocked it for
/// them; the unlocks by level-up and by admins are recorded (with their time) as they happen.
struct ToolRepository: Sendable {
    let database: Database

    func catalogue(logger: Logger) async throws -> [Tool] {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                "SELECT id, name, description, unlock_level FROM tools WHERE active ORDER BY unlock_level, id", logger: logger
            )
            var tools: [Tool] = []
            for try await (id, name, description, level) in rows.decode((String, String, String, Int).self) {
                tools.append(Tool(id: id, name: name, description: description, unlockLevel: level, active: true))
            }
            return tools
        }
    }

    /// Adds `tool`; 409 when its id is taken.
    func create(_ tool: Tool, logger: Logger) async throws {
        try await database.insert(
            "INSERT INTO tools (id, name, description, unlock_level) VALUES (\(tool.id), \(tool.name), \(tool.description), \(tool.unlockLevel))",
            ifTaken: LevelingFailure.toolExists,
            logger: logger
        )
    }

    /// Changes the given fields of a tool (`active` false retires it, true brings it back); nil
    /// when there is no such tool.
    func update(_ id: String, name: String?, description: String?, unlockLevel: Int?, active: Bool?, logger: Logger) async throws -> Tool? {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                """
                UPDATE tools SET name = coalesce(\(name), name), description = coalesce(\(description), description),
                    unlock_level = coalesce(\(unlockLevel)::integer, unlock_level), active = coalesce(\(active)::boolean, active)
                WHERE id = \(id) RETURNING id, name, description, unlock_level, active
                """,
                logger: logger
            )
            for try await (id, name, description, level, active) in rows.decode((String, String, String, Int, Bool).self) {
                return Tool(id: id, name: name, description: description, unlockLevel: level, active: active)
            }
            return nil
        }
    }

    /// Removes a tool nobody unlocked; one someone did is retired instead (`active` false), so
    /// their history keeps its name. True when it was retired, false when deleted; nil when
    /// there is no such tool.
    func remove(_ id: String, logger: Logger) async throws -> Bool? {
        try await database.transaction(logger: logger) { connection in
            // The row lock waits for unlocks in flight (they hold it shared); the statements after
            // it see what they committed.
            let locked = try await connection.query("SELECT 1 FROM tools WHERE id = \(id) FOR UPDATE", logger: logger)
            guard try await locked.decode(Int.self).first(where: { _ in true }) != nil else { return nil }
            let deleted = try await connection.query(
                "DELETE FROM tools WHERE id = \(id) AND NOT EXISTS (SELECT 1 FROM member_tools WHERE tool_id = \(id)) RETURNING 1", logger: logger
            )
            if try await deleted.decode(Int.self).first(where: { _ in true }) != nil { return false }
            try await connection.query("UPDATE tools SET active = false WHERE id = \(id)", logger: logger)
            return true
        }
    }

    /// The catalogue as a member at `level` has it: the active tools, and retired ones the member unlocked.
    func tools(of discordId: String, level: Int, logger: Logger) async throws -> [MemberTool] {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT t.id, t.name, t.description, t.unlock_level, t.active, m.unlocked_at FROM tools t
                LEFT JOIN member_tools m ON m.tool_id = t.id AND m.discord_id = \(discordId)
                WHERE t.active OR m.unlocked_at IS NOT NULL
                ORDER BY t.unlock_level, t.id
                """,
                logger: logger
            )
            var tools: [MemberTool] = []
            for try await (id, name, description, unlockLevel, active, unlockedAt) in rows.decode((String, String, String, Int, Bool, Date?).self) {
                tools.append(
                    MemberTool(
                        id: id, name: name, description: description, unlockLevel: unlockLevel, active: active,
                        unlocked: unlockedAt != nil || level >= unlockLevel, unlockedAt: unlockedAt
                    )
                )
            }
            return tools
        }
    }

    /// Unlocks a tool for a member by an admin, with `leveling.tool_unlocked`; false when it
    /// was unlocked already. 404 when there is no such tool, or it is retired.
    func unlock(_ toolId: String, for discordId: String, logger: Logger) async throws -> Bool {
        try await database.transaction(logger: logger) { connection in
            // A retired tool is unlocked no more; the row lock keeps it from being removed meanwhile.
            let rows = try await connection.query("SELECT name FROM tools WHERE id = \(toolId) AND active FOR SHARE", logger: logger)
            guard let name = try await rows.decode(String.self).first(where: { _ in true }) else { throw LevelingFailure.toolNotFound }
            try await connection.query("INSERT INTO profiles (discord_id) VALUES (\(discordId)) ON CONFLICT (discord_id) DO NOTHING", logger: logger)
            let inserted = try await connection.query(
                "INSERT INTO member_tools (discord_id, tool_id, via) VALUES (\(discordId), \(toolId), 'admin') ON CONFLICT DO NOTHING RETURNING 1",
                logger: logger
            )
            guard try await inserted.decode(Int.self).first(where: { _ in true }) != nil else { return false }
            try await Outbox.write(try RewardQueue.toolUnlocked(discordId, toolId: toolId, name: name), on: connection, logger: logger)
            return true
        }
    }
}
