import Foundation
import GuildCore
import GuildPostgres
import GuildServiceKit
import Hummingbird

/// `GET /api/booking/stats/admin` (staff): bookings, hours and VM use over `?days=`.
struct StatsController: Sendable {
    let database: Database

    var staffEndpoints: RouteCollection<StaffContext> {
        RouteCollection(context: StaffContext.self).get("stats/admin", use: stats)
    }

    /// A VM's use of the window.
    struct VMUse: Codable, Sendable {
        var vmId: String
        var name: String
        /// Hours of the bookings starting in the window, cancelled ones left out.
        var bookedHours: Int64
        /// `booked_hours` ÷ the hours in the window.
        var utilisation: Double
    }

    struct Stats: ResponseEncodable {
        var days: Int
        var since: String
        var until: String
        /// Bookings made each day, by their status now.
        var bookings: [String: DailyFigure]
        var hoursBooked: DailyFigure
        var hoursRefunded: DailyFigure
        /// Hours bought each day, by pack.
        var hoursSold: [String: DailyFigure]
        var vms: [VMUse]
    }

    static let statuses = ["scheduled", "active", "completed", "cancelled"]

    @Sendable func stats(request: Request, context: StaffContext) async throws -> Stats {
        let window = try StatsWindow(request)
        return try await database.connection(logger: context.logger) { connection in
            let counts = try await DailyCounts.read(
                ["bookings", "hours_booked", "hours_refunded", "hours_sold", "vm_hours"], over: window, on: connection, logger: context.logger
            )
            let booked = counts.totals("vm_hours")
            var vms: [VMUse] = []
            for try await (id, name) in try await connection.query("SELECT id, name FROM vms ORDER BY id", logger: context.logger).decode((String, String).self) {
                let hours = booked[id] ?? 0
                vms.append(VMUse(vmId: id, name: name, bookedHours: hours, utilisation: Double(hours) / Double(window.hours)))
            }
            return Stats(
                days: window.days, since: window.since, until: window.until,
                bookings: counts.figures("bookings", expected: Self.statuses),
                hoursBooked: counts.figure("hours_booked"), hoursRefunded: counts.figure("hours_refunded"),
                hoursSold: counts.figures("hours_sold"), vms: vms
            )
        }
    }
}
