import Logging
import PostgresNIO

/// Where connections to the service's database come from: the service's ``PostgresPool``, or a
/// plain `PostgresClient` (tests, tools).
public protocol PostgresSource: Sendable {
    /// Runs `body` with a connection of the source, returned to it afterwards.
    func lease<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result
}

extension PostgresSource {
    /// Runs `body` in a transaction on a leased connection: committed on return, rolled back on throw.
    public func transaction<Result: Sendable>(
        logger: Logger, _ body: (PostgresConnection) async throws -> Result
    ) async throws -> Result {
        try await lease { connection in try await connection.withTransaction(logger: logger) { try await body($0) } }
    }

    /// Runs one statement whose rows do not matter.
    public func execute(_ query: PostgresQuery, logger: Logger) async throws {
        try await lease { connection in _ = try await connection.query(query, logger: logger) }
    }
}

extension PostgresClient: PostgresSource {
    public func lease<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        try await withConnection { connection in try await body(connection) }
    }
}

/// Thrown at once, without waiting for a connection, while the database is known to be unreachable.
public struct DatabaseUnreachable: Error, Sendable, CustomStringConvertible {
    public init() {}
    public var description: String { "the database is unreachable" }
}
