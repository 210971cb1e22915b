import GuildPostgres
import Logging
import PostgresNIO

/// One numbered step of a service's schema. Applied once, in order, in a transaction.
public struct Migration: Sendable {
    /// Position in the sequence; never reused, never renumbered.
    public let version: Int
    /// Short description, stored beside the version.
    public let name: String
    /// Static DDL/DML, run in order. Table names are unqualified: the runner sets the schema.
    public let statements: [PostgresQuery]

    /// Creates a migration.
    public init(version: Int, name: String, statements: [PostgresQuery]) {
        self.version = version
        self.name = name
        self.statements = statements
    }
}

/// Applies a service's migrations to its own schema.
///
/// All pending migrations run in one transaction under an advisory lock, so replicas starting
/// together apply each one exactly once and a failed step leaves nothing half-done.
public struct MigrationRunner: Sendable {
    /// The schema the service owns.
    public let schema: String
    /// Every migration of the service, in any order.
    public let migrations: [Migration]

    /// Creates a runner. `schema` must be a plain lower-case identifier (it is written into DDL).
    public init(schema: String, migrations: [Migration]) {
        precondition(schema.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") } && !schema.isEmpty,
                     "schema must be a plain identifier")
        precondition(Set(migrations.map(\.version)).count == migrations.count, "migration versions must be unique")
        self.schema = schema
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// Applies what is pending; returns the versions it applied.
    @discardableResult
    public func run(on source: some PostgresSource, logger: Logger) async throws -> [Int] {
        try await source.transaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\(schema)))", logger: logger)
            // The schema name is an identifier checked in init; identifiers cannot be bound parameters.
            try await connection.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(schema)"), logger: logger)
            try await connection.query(PostgresQuery(unsafeSQL: "SET LOCAL search_path TO \(schema)"), logger: logger)
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """,
                logger: logger
            )
            var applied = Set<Int>()
            for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger).decode(Int.self) {
                applied.insert(version)
            }
            var newlyApplied: [Int] = []
            for migration in migrations where !applied.contains(migration.version) {
                for statement in migration.statements {
                    try await connection.query(statement, logger: logger)
                }
                try await connection.query(
                    "INSERT INTO schema_migrations (version, name) VALUES (\(migration.version), \(migration.name))",
                    logger: logger
                )
                newlyApplied.append(migration.version)
                logger.info("migration applied", metadata: ["schema": "\(schema)", "version": "\(migration.version)", "name": "\(migration.name)"])
            }
            return newlyApplied
        }
    }
}
