import Foundation
import GuildCore
import GuildPostgres
import GuildServiceKit
import Hummingbird

/// `GET /api/users/stats` (staff): accounts, members seen and sign-ins over `?days=`, with the
/// accounts and live sessions now.
struct StatsController: Sendable {
    let database: Database

    var staffEndpoints: RouteCollection<StaffContext> {
        RouteCollection(context: StaffContext.self).get("stats", use: stats)
    }

    struct Stats: ResponseEncodable {
        var days: Int
        var since: String
        var until: String
        /// Every account now.
        var usersTotal: Int64
        /// Sessions neither ended nor expired now.
        var sessionsLive: Int64
        var newUsers: DailyFigure
        /// Members with a session made or refreshed that day.
        var activeUsers: DailyFigure
        /// Sign-ins by method: `password`, `discord`.
        var logins: [String: DailyFigure]
    }

    @Sendable func stats(request: Request, context: StaffContext) async throws -> Stats {
        let window = try StatsWindow(request)
        return try await database.connection(logger: context.logger) { connection in
            let counts = try await DailyCounts.read(["users.new", "users.active", "logins"], over: window, on: connection, logger: context.logger)
            let rows = try await connection.query(
                """
                SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM sessions WHERE revoked_at IS NULL AND expires_at > now())
                """,
                logger: context.logger
            )
            var users: Int64 = 0
            var live: Int64 = 0
            for try await (total, sessions) in rows.decode((Int64, Int64).self) { (users, live) = (total, sessions) }
            return Stats(
                days: window.days, since: window.since, until: window.until, usersTotal: users, sessionsLive: live,
                newUsers: counts.figure("users.new"), activeUsers: counts.figure("users.active"),
                logins: counts.figures("logins", expected: LoginController.SignInMethod.allCases.map(\.rawValue))
            )
        }
    }
}
