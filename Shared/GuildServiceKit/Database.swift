import Foundation
import GuildCore
import Logging
import PostgresNIO

/// Raised when a dependency did not answer in time.
public struct DeadlineExceeded: Error, Sendable {}

/// Runs `operation`, cancelling it and throwing ``DeadlineExceeded`` after `duration`.
public func withDeadline<T: Sendable>(_ duration: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: duration)
            throw DeadlineExceeded()
        }
        defer { group.cancelAll() }
        return try await group.next()!
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
