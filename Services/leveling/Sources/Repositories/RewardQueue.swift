import Foundation
import GuildCore
import GuildEvents
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
    let rewards: RoleRewards

    // MARK: Level changes

    /// Gives effect to up to 100 pending level changes, oldest first; returns how many.
    func processLevelChanges(logger: Logger) async throws -> Int {
        try await database.transaction(logger: logger) { [curve, rewards] connection in
            guard try await Self.lock("leveling:level_changes", on: connection, logger: logger) else { return 0 }
            let rows = try await connection.query(
                "SELECT id, discord_id, from_level, to_level FROM level_changes WHERE processed_at IS NULL ORDER BY id LIMIT 100",
                logger: logger
            )
            var changes: [(id: Int64, discordId: String, from: Int, to: Int)] = []
            for try await row in rows.decode((Int64, String, Int, Int).self) { changes.append(row) }
            for change in changes {
                if change.to > change.from {
                    let data: JSONValue = .object([
                        "discord_id": .string(change.discordId), "level": .number(Double(change.to)),
                        "previous_level": .number(Double(change.from)), "tier": .string(curve.tier(of: change.to)),
                    ])
                    try await Outbox.write(EventEnvelope(type: EventType.levelUp, userId: nil, data: data), on: connection, logger: logger)
                    let unlocked = try await connection.query(
                        """
                        INSERT INTO member_tools (discord_id, tool_id, via)
                        SELECT \(change.discordId), id, 'level' FROM tools WHERE unlock_level <= \(change.to) ORDER BY unlock_level, id
                        ON CONFLICT (discord_id, tool_id) DO NOTHING
                        RETURNING tool_id, (SELECT name FROM tools WHERE tools.id = member_tools.tool_id)
                        """,
                        logger: logger
                    )
                    for try await (toolId, name) in unlocked.decode((String, String).self) {
                        try await Outbox.write(Self.toolUnlocked(change.discordId, toolId: toolId, name: name), on: connection, logger: logger)
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
    static func toolUnlocked(_ discordId: String, toolId: String, name: String) -> EventEnvelope {
        EventEnvelope(
            type: EventType.toolUnlocked, userId: nil,
            data: .object(["discord_id": .string(discordId), "tool_id": .string(toolId), "tool_name": .string(name)])
        )
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

    /// Sends the oldest undelivered role update of each member that is due, through `send`,
    /// in order; one that fails is tried again after `backoff(attempts)` and holds back the
    /// member's later ones. Returns how many were delivered.
    func deliverRoleUpdates(
        logger: Logger, backoff: @escaping @Sendable (Int) -> Duration, _ send: @escaping @Sendable (RoleUpdate) async throws -> Void
    ) async throws -> Int {
        // The lock lasts through the calls to the bot, which take longer than a request's deadline allows.
        try await database.withSessionLock("leveling:role_updates", logger: logger) { connection in
            try await Self.deliver(on: connection, logger: logger, backoff: backoff, send)
        } ?? 0
    }

    private static func deliver(
        on connection: PostgresConnection, logger: Logger, backoff: @escaping @Sendable (Int) -> Duration,
        _ send: @escaping @Sendable (RoleUpdate) async throws -> Void
    ) async throws -> Int {
        let pending = try await connection.query("SELECT count(*)::int FROM role_updates WHERE delivered_at IS NULL", logger: logger)
        Gauge(label: "bot_queue_depth", dimensions: [("queue", "leveling_role_updates")]).record(try await pending.decode(Int.self).first(where: { _ in true }) ?? 0)
        let rows = try await connection.query(
            """
            SELECT DISTINCT ON (discord_id) id, discord_id, add_roles, remove_roles, attempts, next_attempt_at <= now()
            FROM role_updates WHERE delivered_at IS NULL ORDER BY discord_id, id LIMIT 100
            """,
            logger: logger
        )
        var due: [RoleUpdate] = []
        for try await (id, member, add, remove, attempts, isDue) in rows.decode((Int64, String, [String], [String], Int, Bool).self) where isDue {
            due.append(RoleUpdate(id: id, discordId: member, addRoles: add, removeRoles: remove, attempts: attempts))
        }
        var delivered = 0
        for update in due.sorted(by: { $0.id < $1.id }) {
            do {
                try await send(update)
                try await connection.query("UPDATE role_updates SET delivered_at = now(), attempts = attempts + 1 WHERE id = \(update.id)", logger: logger)
                delivered += 1
            } catch {
                let wait = backoff(update.attempts + 1)
                let seconds = Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18
                try await connection.query(
                    """
                    UPDATE role_updates SET attempts = attempts + 1, last_error = \(String(String(describing: error).prefix(500))),
                        next_attempt_at = now() + make_interval(secs => \(seconds))
                    WHERE id = \(update.id)
                    """,
                    logger: logger
                )
                logger.info("role update not delivered; trying again later", metadata: [
                    "discord_id": "\(update.discordId)", "attempts": "\(update.attempts + 1)", "retry_in": "\(wait)", "error": "\(error)",
                ])
                // The bot is away: the others would fail the same way.
                if case BotClient.Failure.unreachable = error { break }
            }
        }
        return delivered
    }

    private static func lock(_ name: String, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let rows = try await connection.query("SELECT pg_try_advisory_xact_lock(hashtext(\(name)))", logger: logger)
        for try await locked in rows.decode(Bool.self) { return locked }
        return false
    }
}
