import Foundation
import GuildClients
import GuildConcurrency
import GuildCore
import GuildEvents
import GuildPostgres
import GuildServiceKit
import Logging
import Metrics
import PostgresNIO

/// What follows a change of level, written by the change into `level_changes` and worked off
/// here: `leveling.level_up`, tools unlocked at the new level (`leveling.tool_unlocked`) and the
/// role update for the bot — and the role updates' delivery, in order per member.
///
/// One replica works each queue at a time (a transaction-scoped advisory lock), so a member's
/// role updates are queued and sent in the order their level changes happened.
struct RewardQueue: Sendable {
    let database: Database
    let curve: LevelCurve
    /// The role rewards in force (the admins' once changed); nil when there is no bot to give roles.
    let config: RuntimeSettings<LevelingConfig>?
    /// The waits between a role update's attempts.
    let retries: Backoff

    // MARK: Level changes

    /// Gives effect to up to 100 pending level changes, oldest first; returns how many.
    func processLevelChanges(logger: Logger) async throws -> Int {
        let rewards = config?.current.rewards ?? RoleRewards()
        return try await database.transaction(logger: logger) { [curve] connection in
            guard try await Self.lock("leveling:level_changes", on: connection, logger: logger) else { return 0 }
            let rows = try await connection.query(
                "SELECT id, discord_id, from_level, to_level FROM level_changes WHERE processed_at IS NULL ORDER BY id LIMIT 100",
                logger: logger
            )
            var changes: [(id: Int64, discordId: String, from: Int, to: Int)] = []
            for try await row in rows.decode((Int64, String, Int, Int).self) { changes.append(row) }
            for change in changes {
                if change.to > change.from {
                    let reached = LevelReached(discordId: change.discordId, level: change.to, previousLevel: change.from, tier: curve.tier(of: change.to))
                    try await Outbox.write(try EventEnvelope(reached, userId: nil), on: connection, logger: logger)
                    let unlocked = try await connection.query(
                        """
                        INSERT INTO member_tools (discord_id, tool_id, via)
                        SELECT \(change.discordId), id, 'level' FROM tools WHERE active AND unlock_level <= \(change.to) ORDER BY unlock_level, id
                        ON CONFLICT (discord_id, tool_id) DO NOTHING
                        RETURNING tool_id, (SELECT name FROM tools WHERE tools.id = member_tools.tool_id)
                        """,
                        logger: logger
                    )
                    for try await (toolId, name) in unlocked.decode((String, String).self) {
                        try await Outbox.write(try Self.toolUnlocked(change.discordId, toolId: toolId, name: name), on: connection, logger: logger)
                    }
                }
                let roles = rewards.change(from: change.from, to: change.to)
                if !roles.add.isEmpty || !roles.remove.isEmpty {
                    try await connection.query(
                        """
                        INSERT INTO role_updates (discord_id, level, add_roles, remove_roles)
                        VALUES (\(change.discordId), \(change.to), \(roles.add), \(roles.remove))
                        """,
                        logger: logger
                    )
                }
            }
            if !changes.isEmpty {
                try await connection.query("UPDATE level_changes SET processed_at = now() WHERE id = ANY(\(changes.map(\.id)))", logger: logger)
            }
            return changes.count
        }
    }

    /// The event of a tool a member unlocked.
    static func toolUnlocked(_ discordId: String, toolId: String, name: String) throws -> EventEnvelope {
        try EventEnvelope(ToolUnlocked(discordId: discordId, toolId: toolId, toolName: name), userId: nil)
    }

    /// Deletes the answers to the bot's events older than eight days (events older than seven
    /// are refused, so none can need them), a batch at a time; returns how many.
    func pruneBotEvents(logger: Logger) async throws -> Int {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                """
                WITH old AS (
                    SELECT event_id FROM bot_events WHERE received_at < now() - interval '8 days' LIMIT 10000
                )
                DELETE FROM bot_events WHERE event_id IN (SELECT event_id FROM old) RETURNING 1
                """,
                logger: logger
            )
            var count = 0
            for try await _ in rows.decode(Int.self) { count += 1 }
            return count
        }
    }

    // MARK: Role updates

    /// A role update waiting for the bot.
    struct RoleUpdate: Sendable {
        var id: Int64
        var discordId: String
        var addRoles: [String]
        var removeRoles: [String]
        var attempts: Int
    }

    /// The role updates waiting for the bot, oldest first per member.
    var roleUpdates: DurableQueue {
        DurableQueue(
            database: database, table: .init(name: "role_updates", key: "discord_id", settledColumn: "delivered_at"),
            lockName: "leveling:role_updates", gaugeName: "leveling_role_updates", backoff: retries
        )
    }

    /// Sends the oldest undelivered role update of each member that is due, through `send`,
    /// in order; one that fails is tried again after the queue's backoff and holds back the
    /// member's later ones. Returns how many were delivered.
    func deliverRoleUpdates(logger: Logger, _ send: @escaping @Sendable (RoleUpdate) async throws -> Void) async throws -> Int {
        let first = DurableQueue.payloadIndex
        return try await roleUpdates.workRound(logger: logger, columns: "discord_id, add_roles, remove_roles") { row in
            (try row[first].decode(String.self), try row[first + 1].decode([String].self), try row[first + 2].decode([String].self))
        } _: { item in
            let (member, add, remove) = item.payload
            do {
                try await send(RoleUpdate(id: item.id, discordId: member, addRoles: add, removeRoles: remove, attempts: item.attempts))
                return .settled(outcome: nil)
            } catch {
                // The bot is away: the others would fail the same way.
                if case BotClient.Failure.unreachable = error { return .failed(error, stopRound: true) }
                return .failed(error, stopRound: false)
            }
        } ?? 0
    }

    private static func lock(_ name: String, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query("SELECT pg_try_advisory_xact_lock(hashtext(\(name)))", logger: logger)
        for try await locked in rows.decode(Bool.self) { return locked }
        return false
    }
}
