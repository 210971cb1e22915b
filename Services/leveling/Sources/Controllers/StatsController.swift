import Foundation
import GuildCore
import GuildPostgres
import GuildServiceKit
import Hummingbird

/// `GET /api/leveling/stats` (staff): XP changes by source and level-ups over `?days=`, and the
/// members in each tier now.
struct StatsController: Sendable {
    let database: Database
    let curve: LevelCurve

    var staffEndpoints: RouteCollection<StaffContext> {
        RouteCollection(context: StaffContext.self).get("stats", use: stats)
    }

    /// The members of a tier now.
    struct TierCount: Codable, Sendable {
        var tier: String
        var members: Int64
    }

    struct Stats: ResponseEncodable {
        var days: Int
        var since: String
        var until: String
        /// XP changes each day, by source (`message`, `voice`, `command`, `daily`, `admin` …).
        var xpEvents: [String: DailyFigure]
        var levelUps: DailyFigure
        var membersTotal: Int64
        /// Lowest tier first; level 0 counts in the lowest.
        var membersByTier: [TierCount]
    }

    @Sendable func stats(request: Request, context: StaffContext) async throws -> Stats {
        let window = try StatsWindow(request)
        let logger = context.logger
        return try await database.connection(logger: logger) { connection in
            let counts = try await DailyCounts.read(["xp_events", "level_ups"], over: window, on: connection, logger: logger)
            var byTier = Dictionary(uniqueKeysWithValues: curve.tiers.map { ($0.name, Int64(0)) })
            let levels = try await connection.query(
                "SELECT level, sum(members)::bigint FROM members_by_level GROUP BY level", logger: logger
            ).decode((Int, Int64).self)
            for try await (level, members) in levels { byTier[curve.tier(of: level), default: 0] += members }
            let tiers = curve.tiers.sorted { $0.firstLevel < $1.firstLevel }.map { TierCount(tier: $0.name, members: byTier[$0.name] ?? 0) }
            return Stats(
                days: window.days, since: window.since, until: window.until,
                xpEvents: counts.figures("xp_events", expected: ["message", "voice", "command", "daily"]),
                levelUps: counts.figure("level_ups"), membersTotal: tiers.reduce(0) { $0 + $1.members }, membersByTier: tiers
            )
        }
    }
}
