import GuildConcurrency
import GuildCore
import Logging
import PostgresNIO

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
