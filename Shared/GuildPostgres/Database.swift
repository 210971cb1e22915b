import GuildConcurrency
import GuildCore
import Logging
import PostgresNIO

/// The service's PostgreSQL access for request handlers: every call has a deadline, so a
/// database that is down answers a clear 503 instead of a hanging request (at once while the
/// ``PostgresPool`` knows it is down), and an answer of 503 means nothing was written: work
/// whose deadline passes before its commit is rolled back, never committed later.
public struct Database: Sendable {
    /// Where connections come from (the service's ``PostgresPool``).
    public let source: any PostgresSource
    /// How long one call may take until it commits.
    public let deadline: Duration
    /// The deadline of a service's calls unless it says otherwise.
    public static let defaultDeadline = Duration.seconds(5)

    /// Wraps a source of connections.
    public init(source: any PostgresSource, deadline: Duration = Database.defaultDeadline) {
        self.source = source
        self.deadline = deadline
    }

    /// Runs `body` in a transaction: committed on return, rolled back on throw — and rolled
    /// back when the deadline passes before the commit, whose answer (503) is given at once.
    public func transaction<T: Sendable>(
        logger: Logger,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let gate = WorkGate()
        return try await withDeadline(deadline, gate: gate) { [source] in
            try await source.lease { connection in
                guard gate.begin() else { throw DeadlineExceeded() }
                return try await connection.withTransaction(logger: logger) { connection in
                    let value = try await body(connection)
                    guard gate.commit() else { throw DeadlineExceeded() }
                    return value
                }
            }
        }
    }

    /// Runs one statement that adds a row; when its key is taken (a unique violation) the
    /// answer is `taken` (`service_exists` …) instead of the generic conflict.
    public func insert(_ statement: PostgresQuery, ifTaken taken: any Error, logger: Logger) async throws {
        do {
            try await connection(logger: logger) { connection in
                _ = try await connection.query(statement, logger: logger)
            }
        } catch where DatabaseErrors.sqlState(error) == "23505" {
            throw taken
        }
    }

    /// Runs `body` on a connection of its own while holding the session advisory lock `name`, so
    /// one replica at a time does the work; nil, without running it, when another holds the lock.
    /// The deadline covers the wait for a connection; once it has one, no deadline: the work may
    /// wait on other systems (a bot), each call with a timeout of its own. The lock ends with
    /// `body`, or with the connection if the process dies.
    public func withSessionLock<T: Sendable>(
        _ name: String, logger: Logger, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T? {
        try await leased(waitingForOutcomeUpTo: nil) { connection in try await Self.holdingLock(name, on: connection, logger: logger, body) }
    }

    private static func holdingLock<T: Sendable>(
        _ name: String, on connection: PostgresConnection, logger: Logger, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T? {
        let locked = try await connection.query("SELECT pg_try_advisory_lock(hashtext(\(name)))", logger: logger)
        guard try await locked.decode(Bool.self).first(where: { _ in true }) == true else { return nil }
        do {
            let result = try await body(connection)
            try await connection.query("SELECT pg_advisory_unlock(hashtext(\(name)))", logger: logger)
            return result
        } catch {
            _ = try? await connection.query("SELECT pg_advisory_unlock(hashtext(\(name)))", logger: logger)
            throw error
        }
    }

    /// Runs `body` with a connection, outside a transaction. The deadline covers the wait for a
    /// connection; once `body` runs, its statements commit as they go, so its outcome is the
    /// answer (up to the deadline's commit limit).
    public func connection<T: Sendable>(
        logger: Logger,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await leased(waitingForOutcomeUpTo: .seconds(10), body)
    }

    /// Runs `body` once a connection is leased within the deadline (never, when it is not); from
    /// then on the work's own outcome is the answer, waited for up to `limit` (nil: as long as it takes).
    private func leased<T: Sendable>(
        waitingForOutcomeUpTo limit: Duration?, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let gate = WorkGate()
        return try await withDeadline(deadline, gate: gate, commitLimit: limit) { [source] in
            try await source.lease { connection in
                guard gate.commit() else { throw DeadlineExceeded() }
                return try await body(connection)
            }
        }
    }
}
