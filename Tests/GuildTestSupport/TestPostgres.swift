import GuildMigrations
import GuildServiceKit
import Logging
import PostgresNIO

/// Runs `body` with a client on the test database pinned to `schema`, with `migrations`
/// applied first, and drops the schema afterwards (also when `body` throws).
///
/// Extensions the services' migrations use (btree_gist) are created in `public` first, outside
/// the throwaway schema, so dropping the schema takes nothing else along.
public func withTestPostgres<T: Sendable>(
    schema: String, migrations: [Migration] = [], _ body: @Sendable (PostgresClient) async throws -> T
) async throws -> T {
    let client = PostgresClient(configuration: try .init(url: try TestEnvironment.databaseURL(), schema: schema), backgroundLogger: testLogger)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await client.run() }
        defer { group.cancelAll() }
        let drop = PostgresQuery(unsafeSQL: "DROP SCHEMA IF EXISTS \(schema) CASCADE")
        do {
            if !migrations.isEmpty {
                // Tests start side by side; IF NOT EXISTS alone lets two of them race to create it.
                try await client.withTransaction(logger: testLogger) { connection in
                    try await connection.query("SELECT pg_advisory_xact_lock(hashtext('guildhall-test-extensions'))", logger: testLogger)
                    try await connection.query("CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public", logger: testLogger)
                }
                try await MigrationRunner(schema: schema, migrations: migrations).run(on: client, logger: testLogger)
            }
            let result = try await body(client)
            try await client.query(drop, logger: testLogger)
            return result
        } catch {
            _ = try? await client.query(drop, logger: testLogger)
            throw error
        }
    }
}

/// A schema name no other test uses.
public func uniqueSchema(_ prefix: String) -> String {
    "\(prefix)_\(UInt32.random(in: 0...UInt32.max))"
}

/// The logger of tests: warnings and worse.
public let testLogger: Logger = {
    var logger = Logger(label: "tests")
    logger.logLevel = .warning
    return logger
}()
