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

    /// Runs `body` on a connection of its own while holding the session advisory lock `name`, so
    /// one replica at a time does the work; nil, without running it, when another holds the lock.
    /// No deadline: the work may wait on other systems (a bot), each call with a timeout of its
    /// own. The lock ends with `body`, or with the connection if the process dies.
    public func withSessionLock<T: Sendable>(
        _ name: String, logger: Logger, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T? {
        try await client.withConnection { connection in
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
