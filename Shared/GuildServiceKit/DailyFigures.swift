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

    public init(date: String, value: Int64) {
        self.date = date
        self.value = value
    }
}

/// A figure over a window: its total and its daily series, one point a day, oldest first.
public struct DailyFigure: Codable, Sendable, Equatable, GuildJSONWritable {
    public var total: Int64
    public var series: [DailyPoint]

    public init(total: Int64, series: [DailyPoint]) {
        self.total = total
        self.series = series
    }

    /// `{"total":…,"series":[{"date":…,"value":…},…]}`, as its `Codable` conformance encodes it.
    public func writeGuildJSON(to output: inout [UInt8]) {
        output.reserveCapacity(output.count + 32 + series.count * 32)
        output.append(contentsOf: #"{"total":"#.utf8)
        GuildJSON.write(total, to: &output)
        output.append(contentsOf: #","series":["#.utf8)
        for (index, point) in series.enumerated() {
            output.append(contentsOf: index == 0 ? #"{"date":"#.utf8 : #",{"date":"#.utf8)
            GuildJSON.write(point.date, to: &output)
            output.append(contentsOf: #","value":"#.utf8)
            GuildJSON.write(point.value, to: &output)
            output.append(UInt8(ascii: "}"))
        }
        output.append(contentsOf: "]}".utf8)
    }
}

/// The daily counts (`daily_counts`, kept by the writers) of a few metrics over a window.
public struct DailyCounts: Sendable {
    /// The window read.
    public let window: StatsWindow
    /// By metric and key, one value a day of the window, oldest first.
    private let values: [String: [String: [Int64]]]

    /// Reads `metrics` over `window` from the service's `daily_counts`: one row for each metric
    /// and key, its days and values as arrays (a row a day would cost a task switch a row, most
    /// of a 90-day answer's time).
    public static func read(_ metrics: [String], over window: StatsWindow, on connection: PostgresConnection, logger: Logger) async throws -> DailyCounts {
        let rows = try await connection.query(
            """
            SELECT metric, key, array_agg(day - \(window.since)::date ORDER BY day), array_agg(value ORDER BY day) FROM (
                SELECT metric, key, day, sum(value)::bigint AS value FROM daily_counts
                WHERE metric = ANY(\(metrics)) AND day BETWEEN \(window.since)::date AND \(window.until)::date
                GROUP BY metric, key, day
            ) AS days
            GROUP BY metric, key
            """,
            logger: logger
        )
        var values: [String: [String: [Int64]]] = [:]
        for try await (metric, key, offsets, counts) in rows.decode((String, String, [Int32], [Int64]).self) {
            var series = [Int64](repeating: 0, count: window.days)
            for (offset, count) in zip(offsets, counts) where series.indices.contains(Int(offset)) { series[Int(offset)] += count }
            values[metric, default: [:]][key] = series
        }
        return DailyCounts(window: window, values: values)
    }

    /// The figure of `metric` and `key`: zero on days nothing was counted.
    public func figure(_ metric: String, key: String = "") -> DailyFigure {
        let days = values[metric]?[key] ?? [Int64](repeating: 0, count: window.days)
        let series = zip(window.dates, days).map { DailyPoint(date: $0, value: $1) }
        return DailyFigure(total: days.reduce(0, +), series: series)
    }

    /// The figures of `metric` by key: `expected` keys always, others as they were counted.
    public func figures(_ metric: String, expected: [String] = []) -> [String: DailyFigure] {
        let keys = Set(expected).union(values[metric]?.keys ?? [:].keys)
        return Dictionary(uniqueKeysWithValues: keys.map { ($0, figure(metric, key: $0)) })
    }

    /// The total of `metric` for each key counted.
    public func totals(_ metric: String) -> [String: Int64] {
        (values[metric] ?? [:]).mapValues { $0.reduce(0, +) }
    }
}
