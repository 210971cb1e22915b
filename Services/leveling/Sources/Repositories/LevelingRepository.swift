import Foundation
import GuildCore
import GuildPostgres
import GuildServiceKit
import Logging
import PostgresNIO

/// Profiles, their XP history and the bot's events, in the `leveling` schema.
///
/// Every change of a member's XP holds the member's row lock, so changes of one member take
/// turns on every replica; a change of level leaves a row in `level_changes` in the same
/// transaction, and ``RewardQueue`` turns it into events, tools and role updates.
struct LevelingRepository: Sendable {
    let database: Database
    let curve: LevelCurve
    /// The settings events are judged by (the admins' once changed).
    let config: RuntimeSettings<LevelingConfig>

    // MARK: The bot's events

    /// Judges `events` in order, each as if sent alone, in one round trip; a retried event
    /// (same `event_id`) answers as it did the first time (`replayed`).
    func award(_ events: [BotEvent], logger: Logger) async throws -> [(result: AwardResult, replayed: Bool)] {
        guard !events.isEmpty else { return [] }
        let thresholds = curve.thresholds
        let rules = config.current.rules
        return try await retryingDeadlocks {
            try await database.connection(logger: logger) { connection in
                let rows: PostgresRowSequence
                if events.count == 1, let event = events.first {
                    rows = try await connection.query(
                        """
                        SELECT * FROM award_xp(
                            \(event.eventId), \(event.discordId), \(event.source.rawValue), \(event.channelId ?? ""), \(event.occurredAt),
                            \(Int32(rules.amount(for: event.source, minutes: event.minutes)))::integer,
                            \(Int32(rules.cooldown(for: event.source)))::integer, \(thresholds)
                        )
                        """,
                        logger: logger
                    )
                } else {
                    rows = try await connection.query(
                        """
                        SELECT * FROM award_xp_batch(
                            \(events.map(\.eventId)), \(events.map(\.discordId)), \(events.map(\.source.rawValue)),
                            \(events.map { $0.channelId ?? "" }), \(events.map(\.occurredAt)),
                            \(events.map { Int32(rules.amount(for: $0.source, minutes: $0.minutes)) }),
                            \(events.map { Int32(rules.cooldown(for: $0.source)) }), \(thresholds)
                        )
                        """,
                        logger: logger
                    )
                }
                var results: [(result: AwardResult, replayed: Bool)] = []
                results.reserveCapacity(events.count)
                for try await (awarded, total, level, leveledUp, replayed) in rows.decode((Int, Int64, Int, Bool, Bool).self) {
                    results.append((AwardResult(xpAwarded: awarded, totalXp: total, level: level, leveledUp: leveledUp), replayed))
                }
                return results
            }
        }
    }

    /// Runs `body` again when PostgreSQL broke a deadlock by failing it (members locked in
    /// another order by a concurrent change); an event id taken at the same moment for another
    /// member is a 409.
    private func retryingDeadlocks<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch where DatabaseErrors.sqlState(error) == "40P01" && attempt < 3 {
                attempt += 1
            } catch where DatabaseErrors.sqlState(error) == "23505" {
                throw LevelingFailure.eventIdTaken
            }
        }
    }

    // MARK: Reading

    /// The member's row, if they have one.
    func profile(_ discordId: String, logger: Logger) async throws -> ProfileRow? {
        try await database.connection(logger: logger) { connection in
            try await Self.profile(discordId, on: connection, lock: false, logger: logger)
        }
    }

    private static func profile(_ discordId: String, on connection: PostgresConnection, lock: Bool, logger: Logger) async throws -> ProfileRow? {
        let rows = try await connection.query(
            """
            SELECT discord_id, xp, level, streak, (daily_claimed_on - DATE '1970-01-01')::integer FROM profiles
            WHERE discord_id = \(discordId) \(unescaped: lock ? "FOR UPDATE" : "")
            """,
            logger: logger
        )
        for try await (id, xp, level, streak, day) in rows.decode((String, Int64, Int, Int, Int?).self) {
            return ProfileRow(discordId: id, xp: xp, level: level, streak: streak, dailyClaimedOn: day.map(DailyDate.init(daysSinceEpoch:)))
        }
        return nil
    }

    /// Members by XP, most first (ties: the larger id first, as the Redis index orders them).
    func leaders(offset: Int, limit: Int, logger: Logger) async throws -> [(discordId: String, xp: Int64)] {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                "SELECT discord_id, xp FROM profiles ORDER BY xp DESC, discord_id DESC OFFSET \(offset) LIMIT \(limit)", logger: logger
            )
            var leaders: [(discordId: String, xp: Int64)] = []
            for try await (id, xp) in rows.decode((String, Int64).self) { leaders.append((id, xp)) }
            return leaders
        }
    }

    /// How many members have more XP than `xp`, and how many members there are.
    func standing(of xp: Int64, logger: Logger) async throws -> (ahead: Int, total: Int) {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                "SELECT (SELECT count(*)::bigint FROM profiles WHERE xp > \(xp)), (SELECT count(*)::bigint FROM profiles)", logger: logger
            )
            for try await (ahead, total) in rows.decode((Int, Int).self) { return (ahead, total) }
            return (0, 0)
        }
    }

    /// Up to `limit` rows after `after` (by id), for rebuilding the leaderboard index.
    func scan(after: String?, limit: Int, updatedSince: Date? = nil, logger: Logger) async throws -> [(discordId: String, xp: Int64)] {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT discord_id, xp FROM profiles
                WHERE (\(after)::text IS NULL OR discord_id > \(after)) AND (\(updatedSince)::timestamptz IS NULL OR updated_at >= \(updatedSince))
                ORDER BY discord_id LIMIT \(limit)
                """,
                logger: logger
            )
            var found: [(discordId: String, xp: Int64)] = []
            for try await (id, xp) in rows.decode((String, Int64).self) { found.append((id, xp)) }
            return found
        }
    }

    /// The member's XP changes, newest first, before the change `before`.
    func history(_ discordId: String, before: Int64?, limit: Int, logger: Logger) async throws -> [HistoryEntry] {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT id, amount, total_after, source, reason, admin_id, event_id, channel_id, occurred_at FROM xp_history
                WHERE discord_id = \(discordId) AND (\(before)::bigint IS NULL OR id < \(before))
                ORDER BY id DESC LIMIT \(limit)
                """,
                logger: logger
            )
            var entries: [HistoryEntry] = []
            for try await row in rows.decode((Int64, Int64, Int64, String, String?, UUID?, String?, String?, Date).self) {
                entries.append(
                    HistoryEntry(
                        id: row.0, amount: row.1, totalAfter: row.2, source: row.3, reason: row.4, adminId: row.5, eventId: row.6,
                        channelId: row.7, occurredAt: row.8
                    )
                )
            }
            return entries
        }
    }

    // MARK: Changes by members and admins

    /// A change of one member's XP, decided on the locked row.
    struct Change: Sendable {
        var xp: Int64
        var source: String
        var reason: String?
        var adminId: UUID?
        var streak: Int?
        var dailyClaimedOn: DailyDate?
    }

    /// Applies what `decide` makes of the member's locked row (created when missing), with its
    /// history entry and level change; `decide` throws to refuse. Returns the row as it was
    /// (under the lock) and as it is after.
    func change(
        _ discordId: String, logger: Logger, _ decide: @escaping @Sendable (ProfileRow) throws -> Change
    ) async throws -> (before: ProfileRow, after: ProfileRow) {
        try await database.transaction(logger: logger) { [curve] connection in
            try await connection.query("INSERT INTO profiles (discord_id) VALUES (\(discordId)) ON CONFLICT (discord_id) DO NOTHING", logger: logger)
            guard let before = try await Self.profile(discordId, on: connection, lock: true, logger: logger) else { throw LevelingFailure.profileNotFound }
            let change = try decide(before)
            let xp = max(0, change.xp)
            let level = curve.level(for: xp)
            let streak = change.streak ?? before.streak
            let claimed = change.dailyClaimedOn ?? before.dailyClaimedOn
            try await connection.query(
                """
                UPDATE profiles SET xp = \(xp), level = \(level), streak = \(streak),
                    daily_claimed_on = DATE '1970-01-01' + \(claimed?.daysSinceEpoch)::integer, updated_at = now()
                WHERE discord_id = \(discordId)
                """,
                logger: logger
            )
            try await connection.query(
                """
                INSERT INTO xp_history (discord_id, amount, total_after, source, reason, admin_id, occurred_at)
                VALUES (\(discordId), \(xp - before.xp), \(xp), \(change.source), \(change.reason), \(change.adminId), now())
                """,
                logger: logger
            )
            if level != before.level {
                try await connection.query(
                    "INSERT INTO level_changes (discord_id, from_level, to_level) VALUES (\(discordId), \(before.level), \(level))", logger: logger
                )
            }
            return (before, ProfileRow(discordId: discordId, xp: xp, level: level, streak: streak, dailyClaimedOn: claimed))
        }
    }
}
