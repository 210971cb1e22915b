import Foundation
import GuildCore
import GuildPostgres
import GuildServiceKit
import Hummingbird

/// `GET /api/tickets/stats` (staff): tickets opened and closed over `?days=`, how fast staff
/// answer and close them, each staff member's replies and closes, and what is open now.
struct StatsController: Sendable {
    let database: Database

    var staffEndpoints: RouteCollection<StaffContext> {
        RouteCollection(context: StaffContext.self).get("stats", use: stats)
    }

    /// How long something took, over the tickets opened in the window that got there.
    struct Durations: Codable, Sendable {
        var tickets: Int64
        var medianSeconds: Double?
        var p90Seconds: Double?

        /// From a count and the 50th and 90th percentiles (none when nothing got there).
        init(count: Int64?, percentiles: [Double]?) {
            tickets = count ?? 0
            medianSeconds = percentiles?.first
            p90Seconds = percentiles?.dropFirst().first
        }
    }

    /// One staff member's work in the window.
    struct StaffWork: Codable, Sendable {
        var userId: String
        var replies: Int64
        var closes: Int64
    }

    struct Stats: ResponseEncodable {
        var days: Int
        var since: String
        var until: String
        var opened: DailyFigure
        var closed: DailyFigure
        /// Open tickets now, by category.
        var openNow: [String: Int64]
        var firstStaffReply: Durations
        var timeToClose: Durations
        /// Most replies first.
        var staff: [StaffWork]
    }

    @Sendable func stats(request: Request, context: StaffContext) async throws -> Stats {
        let window = try StatsWindow(request)
        let logger = context.logger
        return try await database.connection(logger: logger) { connection in
            let counts = try await DailyCounts.read(
                ["tickets.opened", "tickets.closed", "tickets.replies", "tickets.closes"], over: window, on: connection, logger: logger
            )
            var openNow: [String: Int64] = [:]
            let open = try await connection.query("SELECT category, count(*) FROM tickets WHERE status = 'open' GROUP BY category", logger: logger)
            for try await (category, count) in open.decode((String, Int64).self) { openNow[category] = count }
            // One sort for both percentiles of each duration.
            let timing = try await connection.query(
                """
                SELECT count(first_staff_reply_at),
                    percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY extract(epoch FROM first_staff_reply_at - created_at)),
                    count(closed_at) FILTER (WHERE status = 'closed'),
                    percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - created_at)) FILTER (WHERE status = 'closed')
                FROM tickets WHERE created_at >= \(window.start)
                """,
                logger: logger
            ).decode((Int64, [Double]?, Int64, [Double]?).self).first { _ in true }
            let replies = counts.totals("tickets.replies")
            let closes = counts.totals("tickets.closes")
            let staff = Set(replies.keys).union(closes.keys)
                .map { StaffWork(userId: $0, replies: replies[$0] ?? 0, closes: closes[$0] ?? 0) }
                .sorted { ($0.replies, $0.closes, $1.userId) > ($1.replies, $1.closes, $0.userId) }
            return Stats(
                days: window.days, since: window.since, until: window.until,
                opened: counts.figure("tickets.opened"), closed: counts.figure("tickets.closed"), openNow: openNow,
                firstStaffReply: Durations(count: timing?.0, percentiles: timing?.1),
                timeToClose: Durations(count: timing?.2, percentiles: timing?.3),
                staff: staff
            )
        }
    }
}
