import GuildConcurrency
import Logging
import Metrics
import PostgresNIO

/// Work kept in a table of the service's schema until it is done: each row waits until its
/// `next_attempt_at`, is tried, and is then settled (done) or rescheduled with backoff, for as
/// long as it takes. The table has `id bigint`, `attempts int`, `next_attempt_at timestamptz`,
/// `last_error text` and a settled-at column, null while the row waits.
///
/// A round (``workRound(logger:columns:decode:_:)``) runs on one replica at a time (a session
/// advisory lock) and takes the rows in order per key: only the oldest waiting row of each key
/// is tried, so a key's later rows wait for its earlier ones. The number of waiting rows is
/// the gauge `bot_queue_depth{queue=…}`.
public struct DurableQueue: Sendable {
    /// Where the rows are: names from the service's own migrations, never from input.
    public struct Table: Sendable {
        /// The table.
        public var name: String
        /// The column rows are ordered by within a key (`discord_id`, `user_id`).
        public var key: String
        /// Set when a row is done.
        public var settledColumn: String
        /// The order of a key's rows (`id`, `occurred_at, id`).
        public var order: String
        /// A text column that records how a row was settled, if the table has one.
        public var outcomeColumn: String?

        /// Describes a table.
        public init(name: String, key: String, settledColumn: String, order: String = "id", outcomeColumn: String? = nil) {
            self.name = name
            self.key = key
            self.settledColumn = settledColumn
            self.order = order
            self.outcomeColumn = outcomeColumn
        }
    }

    /// What became of a row that was tried.
    public enum Outcome: Sendable {
        /// Done; `outcome` goes into the table's outcome column.
        case settled(outcome: String?)
        /// Not done: tried again after the backoff; `stopRound` leaves the other rows of the round
        /// for the next one (the party they all go to is away).
        case failed(any Error, stopRound: Bool)
    }

    /// One waiting row, as the round hands it to its worker.
    public struct Item<Payload: Sendable>: Sendable {
        public var id: Int64
        /// Attempts before this one.
        public var attempts: Int
        public var payload: Payload
    }

    public let database: Database
    public let table: Table
    /// The lock one replica holds while it works a round.
    public let lockName: String
    /// The waits between a row's attempts.
    public let backoff: Backoff
    /// Rows looked at in a round.
    public let roundSize: Int
    /// Where a row's payload columns begin, for ``workRound(logger:columns:decode:_:)``'s `decode`.
    public static let payloadIndex = 3
    private let depth: Gauge

    /// A queue named `gaugeName` in the depth gauge.
    public init(database: Database, table: Table, lockName: String, gaugeName: String, backoff: Backoff, roundSize: Int = 100) {
        self.database = database
        self.table = table
        self.lockName = lockName
        self.backoff = backoff
        self.roundSize = roundSize
        self.depth = Gauge(label: "bot_queue_depth", dimensions: [("queue", gaugeName)])
    }

    /// Tries the oldest waiting row of each key that is due, oldest first, with `work`; returns
    /// how many were settled, or nil when another replica holds the round. `columns` are the
    /// payload's columns, which `decode` reads from each row from index ``payloadIndex`` on.
    public func workRound<Payload: Sendable>(
        logger: Logger,
        columns: String,
        decode: @escaping @Sendable (PostgresRandomAccessRow) throws -> Payload,
        _ work: @escaping @Sendable (Item<Payload>) async -> Outcome
    ) async throws -> Int? {
        // The lock lasts through the calls to other parties, which take longer than a request's deadline allows.
        try await database.withSessionLock(lockName, logger: logger) { [self] connection in
            depth.record(try await waiting(on: connection, logger: logger))
            let rows = try await connection.query(
                """
                SELECT id, attempts, next_attempt_at <= now(), \(unescaped: columns) FROM (
                    SELECT DISTINCT ON (\(unescaped: table.key)) * FROM \(unescaped: table.name)
                    WHERE \(unescaped: table.settledColumn) IS NULL ORDER BY \(unescaped: table.key), \(unescaped: table.order) LIMIT \(roundSize)
                ) heads
                """,
                logger: logger
            )
            var due: [Item<Payload>] = []
            for try await row in rows {
                let columns = row.makeRandomAccess()
                guard try columns[2].decode(Bool.self) else { continue }
                due.append(Item(id: try columns[0].decode(Int64.self), attempts: try columns[1].decode(Int.self), payload: try decode(columns)))
            }
            var settled = 0
            for item in due.sorted(by: { $0.id < $1.id }) {
                switch await work(item) {
                case .settled(let outcome):
                    try await settle(item.id, outcome: outcome, on: connection, logger: logger)
                    settled += 1
                case .failed(let error, let stopRound):
                    let wait = try await reschedule(item.id, attempts: item.attempts + 1, error: error, on: connection, logger: logger)
                    logger.info("\(table.name) row not done; trying again later", metadata: [
                        "id": "\(item.id)", "attempts": "\(item.attempts + 1)", "retry_in": "\(wait)", "error": "\(error)",
                    ])
                    if stopRound { return settled }
                }
            }
            return settled
        }
    }

    /// Rows still waiting.
    private func waiting(on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let rows = try await connection.query(
            "SELECT count(*)::int FROM \(unescaped: table.name) WHERE \(unescaped: table.settledColumn) IS NULL", logger: logger
        )
        return try await rows.decode(Int.self).first(where: { _ in true }) ?? 0
    }

    private func settle(_ id: Int64, outcome: String?, on connection: PostgresConnection, logger: Logger) async throws {
        if let column = table.outcomeColumn {
            try await connection.query(
                """
                UPDATE \(unescaped: table.name) SET \(unescaped: table.settledColumn) = now(), \(unescaped: column) = \(outcome),
                    attempts = attempts + 1
                WHERE id = \(id)
                """,
                logger: logger
            )
        } else {
            try await connection.query(
                "UPDATE \(unescaped: table.name) SET \(unescaped: table.settledColumn) = now(), attempts = attempts + 1 WHERE id = \(id)",
                logger: logger
            )
        }
    }

    /// Puts row `id` back to wait the backoff of its `attempts`-th failure, recording `error`;
    /// returns the wait.
    private func reschedule(_ id: Int64, attempts: Int, error: any Error, on connection: PostgresConnection, logger: Logger) async throws -> Duration {
        let wait = backoff.delay(afterAttempts: attempts)
        let seconds = Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18
        try await connection.query(
            """
            UPDATE \(unescaped: table.name) SET attempts = attempts + 1,
                last_error = \(String(String(describing: error).prefix(500))), next_attempt_at = now() + make_interval(secs => \(seconds))
            WHERE id = \(id)
            """,
            logger: logger
        )
        return wait
    }
}
