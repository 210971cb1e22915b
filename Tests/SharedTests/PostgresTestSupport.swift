import GuildServiceKit
import GuildTestSupport
import Logging
import PostgresNIO

/// Runs `body` with a client on the test database pinned to `schema`, and drops the schema after.
func withTestPostgres<T: Sendable>(schema: String, _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
    let client = PostgresClient(configuration: try .init(url: try TestEnvironment.databaseURL(), schema: schema), backgroundLogger: testLogger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        do {
            let result = try await body(client)
            try await client.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE"), logger: testLogger)
            return result
        } catch {
            _ = try? await client.query(PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE"), logger: testLogger)
            throw error
        }
    }
}

/// A schema name no other test uses.
func uniqueSchema(_ prefix: String) -> String {
    "\(prefix)_\(UInt32.random(in: 0...UInt32.max))"
}

let testLogger: Logger = {
    var logger = Logger(label: "tests")
    logger.logLevel = .warning
    return logger
}()
