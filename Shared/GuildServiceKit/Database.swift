import Foundation
import GuildCore
import Logging
import NIOCore
import NIOPosix
import PostgresNIO
import Synchronization

/// Raised when a dependency did not answer in time.
public struct DeadlineExceeded: Error, Sendable {}

/// Runs `operation`, cancelling it and throwing ``DeadlineExceeded`` after `duration`.
///
/// The caller gets its answer at the deadline (or at once when the caller is cancelled) even
/// when the operation does not honour cancellation — a connection lease stuck while the
/// database is away must not hold a request, or a service's shutdown, forever. The operation
/// is cancelled and finishes on its own.
public func withDeadline<T: Sendable>(_ duration: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let outcome = DeadlineOutcome<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            guard outcome.start(continuation) else { return }
            let work = Task {
                do { outcome.finish(.success(try await operation())) } catch { outcome.finish(.failure(error)) }
            }
            // An event loop's timer rather than a sleeping task: it is set and cancelled on every
            // query, and costs a heap entry instead of a task and a Dispatch timer.
            let timer = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: TimeAmount(duration)) {
                outcome.finish(.failure(DeadlineExceeded()))
                work.cancel()
            }
            outcome.onFinish { timer.cancel() }
        }
    } onCancel: {
        outcome.finish(.failure(CancellationError()))
    }
}

/// The one answer of a ``withDeadline(_:_:)`` call: the first of result, deadline and cancellation.
private final class DeadlineOutcome<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var early: Result<T, any Error>?
        var finished = false
        var cleanup: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())

    /// Stores the continuation; false when the call was already answered (cancelled before it began).
    func start(_ continuation: CheckedContinuation<T, any Error>) -> Bool {
        let early: Result<T, any Error>? = state.withLock { state in
            if let early = state.early { return early }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
        return early == nil
    }

    /// Answers once; later answers are dropped.
    func finish(_ result: Result<T, any Error>) {
        let (continuation, cleanup): (CheckedContinuation<T, any Error>?, (@Sendable () -> Void)?) = state.withLock { state in
            guard !state.finished else { return (nil, nil) }
            state.finished = true
            guard let continuation = state.continuation else {
                state.early = result
                return (nil, nil)
            }
            state.continuation = nil
            defer { state.cleanup = nil }
            return (continuation, state.cleanup)
        }
        continuation?.resume(with: result)
        cleanup?()
    }

    /// Runs `cleanup` once the answer is given (at once if it already was).
    func onFinish(_ cleanup: @escaping @Sendable () -> Void) {
        let now = state.withLock { state in
            if state.finished { return true }
            state.cleanup = cleanup
            return false
        }
        if now { cleanup() }
    }
}

/// Classifies PostgreSQL errors.
public enum DatabaseErrors {
    /// True when the error means the database is unreachable or going away (answer 503), not that the query was wrong.
    public static func isUnavailable(_ error: PSQLError) -> Bool {
        if error.code == .server {
            // Class 08: connection exception; 57P0x: shutting down / cannot connect now; 53: insufficient resources.
            let state = error.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || state.hasPrefix("57P") || state.hasPrefix("53")
        }
        return true
    }

    /// The answer for a server error caused by the request's data rather than by an outage:
    /// class 22 (a value PostgreSQL cannot take, such as a NUL byte) is a 400, class 23 (a
    /// constraint the route did not map itself) a 409, and a serialization failure or deadlock
    /// a 503 to retry. Nil for everything else.
    public static func answer(for error: PSQLError) -> APIError? {
        guard error.code == .server, let state = error.serverInfo?[.sqlState] else { return nil }
        if state.hasPrefix("22") { return APIError(status: 400, code: "invalid_input", message: "a value in the request cannot be stored") }
        if state.hasPrefix("23") { return .conflict("conflict", "the request clashes with existing data") }
        if state == "40001" || state == "40P01" { return .unavailable("database (busy)", retryAfter: 1) }
        return nil
    }

    /// The SQLSTATE of a server error (`23505` unique violation, `23P01` exclusion violation …).
    /// Also looks inside a failed transaction for the error of its body or its commit.
    public static func sqlState(_ error: any Error) -> String? {
        if let error = error as? PSQLError { return error.serverInfo?[.sqlState] }
        if let error = error as? PostgresTransactionError {
            return error.closureError.flatMap(sqlState) ?? error.commitError.flatMap(sqlState)
        }
        return nil
    }
}

extension PostgresClient.Configuration {
    /// Parses `postgres://user[:password]@host[:port]/database` and pins the connection's
    /// `search_path` to the service's own schema, so its SQL names its tables unqualified.
    public init(url: String, schema: String) throws {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? ""),
            let host = components.host, !host.isEmpty, let user = components.user, !user.isEmpty
        else { throw ConfigurationError.invalid("DATABASE_URL", "expected postgres://user[:password]@host[:port]/database") }
        let database = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        let tls: PostgresClient.Configuration.TLS =
            components.queryItems?.first(where: { $0.name == "sslmode" })?.value == "require" ? .require(.makeClientConfiguration()) : .disable
        self.init(
            host: host,
            port: components.port ?? 5432,
            username: user.removingPercentEncoding ?? user,
            password: components.password?.removingPercentEncoding,
            database: database.isEmpty ? user : database,
            tls: tls
        )
        options.additionalStartupParameters = [("search_path", schema), ("application_name", "guildhall-\(schema)")]
        options.connectTimeout = .seconds(3)
        options.maximumConnections = 16
    }
}

/// The service's PostgreSQL access for request handlers: every call has a deadline, so a
/// database that is down answers a clear 503 instead of a hanging request.
public struct Database: Sendable {
    /// The underlying client (a `Service` in the group).
    public let client: PostgresClient
    /// How long one call may take.
    public let deadline: Duration

    /// Wraps a client.
    public init(client: PostgresClient, deadline: Duration = .seconds(5)) {
        self.client = client
        self.deadline = deadline
    }

    /// Runs `body` in a transaction: committed on return, rolled back on throw.
    public func transaction<T: Sendable>(
        logger: Logger,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withDeadline(deadline) { [client] in
            try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        }
    }

    /// Runs one statement that adds a row; when its key is taken (a unique violation) the
    /// answer is `taken` (`service_exists` …) instead of the generic conflict.
    public func insert(_ statement: PostgresQuery, ifTaken taken: APIError, logger: Logger) async throws {
        do {
            try await connection(logger: logger) { connection in
                _ = try await connection.query(statement, logger: logger)
            }
        } catch where DatabaseErrors.sqlState(error) == "23505" {
            throw taken
        }
    }

    /// Runs `body` with a connection, outside a transaction.
    public func connection<T: Sendable>(
        logger: Logger,
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await withDeadline(deadline) { [client] in
            try await client.withConnection { connection in try await body(connection) }
        }
    }
}
