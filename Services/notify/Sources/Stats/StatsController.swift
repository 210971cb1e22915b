import Foundation
import GuildCore
import GuildPostgres
import GuildRedis
import GuildServiceKit
import Hummingbird

/// `GET /api/notifications/stats` (staff): inbox entries by kind and pushes over `?days=`, and
/// the devices and live connections now.
struct StatsController: Sendable {
    let database: Database
    let redis: RedisClient

    var staffEndpoints: RouteCollection<StaffContext> {
        RouteCollection(context: StaffContext.self).get("stats", use: stats)
    }

    struct Stats: ResponseEncodable {
        var days: Int
        var since: String
        var until: String
        /// Inbox entries each day, by kind.
        var inbox: [String: DailyFigure]
        /// Messages FCM took, and attempts it did not (each device counts).
        var pushesSent: DailyFigure
        var pushesFailed: DailyFigure
        /// Registered devices now, by platform.
        var devices: [String: Int64]
        /// Live connections (WebSocket and Socket.IO) on every replica now.
        var liveSockets: Int64
    }

    static let platforms = ["android", "ios", "web"]

    @Sendable func stats(request: Request, context: StaffContext) async throws -> Stats {
        let window = try StatsWindow(request)
        let logger = context.logger
        let (counts, devices) = try await database.connection(logger: logger) { connection in
            let counts = try await DailyCounts.read(["inbox", "pushes.sent", "pushes.failed"], over: window, on: connection, logger: logger)
            var devices = Dictionary(uniqueKeysWithValues: Self.platforms.map { ($0, Int64(0)) })
            let rows = try await connection.query("SELECT platform, count(*) FROM push_tokens GROUP BY platform", logger: logger)
            for try await (platform, count) in rows.decode((String, Int64).self) { devices[platform] = count }
            return (counts, devices)
        }
        let live: Int64
        do {
            live = try await LiveCountReporter.total(redis: redis)
        } catch {
            throw APIError(status: 503, code: "live_count_unavailable", message: "the live connections cannot be counted now; try again", retryAfter: 1)
        }
        return Stats(
            days: window.days, since: window.since, until: window.until, inbox: counts.figures("inbox"),
            pushesSent: counts.figure("pushes.sent"), pushesFailed: counts.figure("pushes.failed"), devices: devices, liveSockets: live
        )
    }
}
