import Foundation
import GuildCore
import GuildPostgres
import Hummingbird
import Logging
import PostgresNIO

/// The window of a stats route: `?days=` 1 to 90 (default 30), the last of them today (UTC).
public struct StatsWindow: Sendable, Equatable {
    /// How many days, today included.
    public var days: Int
    /// The first day, as `YYYY-MM-DD`.
    public var since: String { dates[0] }
    /// The last day (today), as `YYYY-MM-DD`.
    public var until: String { dates[dates.count - 1] }
    /// Every day of the window, oldest first, as `YYYY-MM-DD`.
    public let dates: [String]
    /// The start (UTC midnight) of the first day.
    public let start: Date

    /// The window of `days` days ending today.
    public init(days: Int, now: Date = Date()) {
        self.days = days
        let today = (now.timeIntervalSince1970 / 86_400).rounded(.down)
        let first = today - Double(days - 1)
        self.start = Date(timeIntervalSince1970: first * 86_400)
        self.dates = (0..<days).map { offset in Self.dayText(Date(timeIntervalSince1970: (first + Double(offset)) * 86_400)) }
    }

    /// Reads `?days=` from `request`; a bad value is a 400 naming it.
    public init(_ request: Request) throws {
        self.init(days: try request.query("days", in: 1...90) ?? 30)
    }

    /// The hours in the window (for utilisation).
    public var hours: Int { days * 24 }

    private static func dayText(_ date: Date) -> String {
        String(RFC3339.format(date).prefix(10))
    }
}

/// One day's figure of a chart.
public struct DailyPoint: Codable, Sendable, Equatable {
    /// The day, `YYYY-MM-DD` (UTC).
    public var date: String
    public var value: Int64
}

/// A figure over a window: its total and its daily series, one point a day, oldest first.
public struct DailyFigure: Codable, Sendable, Equatable {
    public var total: Int64
    public var series: [DailyPoint]
}

/// The daily counts (`daily_counts`, kept by the writers) of a few metrics over a window.
public struct DailyCounts: Sendable {
    /// The window read.
    public let window: StatsWindow
    private let values: [String: [String: [String: Int64]]]

    /// Reads `metrics` over `window` from the service's `daily_counts`.
    public static func read(_ metrics: [String], over window: StatsWindow, on connection: PostgresConnection, logger: Logger) async throws -> DailyCounts {
        let rows = try await connection.query(
            """
            SELECT metric, key, day::text, sum(value)::bigint FROM daily_counts
            WHERE metric = ANY(\(metrics)) AND day BETWEEN \(window.since)::date AND \(window.until)::date
            GROUP BY metric, key, day
            """,
            logger: logger
        )
        var values: [String: [String: [String: Int64]]] = [:]
        for try await (metric, key, day, value) in rows.decode((String, String, String, Int64).self) {
            values[metric, default: [:]][key, default: [:]][day] = value
        }
        return DailyCounts(window: window, values: values)
    }

    /// The figure of `metric` and `key`: zero on days nothing was counted.
    public func figure(_ metric: String, key: String = "") -> DailyFigure {
        let days = values[metric]?[key] ?? [:]
        let series = window.dates.map { DailyPoint(date: $0, value: days[$0] ?? 0) }
        return DailyFigure(total: series.reduce(0) { $0 + $1.value }, series: series)
    }

    /// The figures of `metric` by key: `expected` keys always, others as they were counted.
    public func figures(_ metric: String, expected: [String] = []) -> [String: DailyFigure] {
        let keys = Set(expected).union(values[metric]?.keys ?? [:].keys)
        return Dictionary(uniqueKeysWithValues: keys.map { ($0, figure(metric, key: $0)) })
    }

    /// The total of `metric` for each key counted.
    public func totals(_ metric: String) -> [String: Int64] {
        (values[metric] ?? [:]).mapValues { $0.values.reduce(0, +) }
    }
}
