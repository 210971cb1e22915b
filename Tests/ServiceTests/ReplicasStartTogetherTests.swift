import Foundation
import GuildServiceKit
import GuildStack
import GuildTestSupport
import Logging
import PostgresNIO
import Testing

/// A release rolled out to an orchestrator starts every replica of every service at once on a
/// database that may be empty: each schema's migrations must run exactly once, whoever wins.
@Suite("replicas of every service starting at once on an empty database", .watched)
struct ReplicasStartTogetherTests {
    static let replicas = 2

    @Test func everyMigrationIsAppliedOnceAndEveryReplicaStarts() async throws {
        let database = "guildhall_empty_\(UInt32.random(in: 0...UInt32.max))"
        let server = try TestEnvironment.databaseURL()
        try await Self.withAdminClient(url: server) { admin in
            try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(database)"), logger: testLogger)
        }
        let url = try Self.url(server, database: database)
        let redis = try TestEnvironment.redisURL()
        do {
            // Every process before any of them has got far: they all find the schemas missing.
            let started = try GuildStack.services.flatMap { service in
                try (0..<Self.replicas).map { _ in try RunningService(service.name, database: url, redis: redis, logLevel: "info", environment: ["LOG_FORMAT=text"]) }
            }
            try await withCleanup {
                for service in started {
                    let healthy = await service.becomesHealthy(within: .seconds(120))
                    #expect(healthy, "\(service.name) did not become healthy: \(service.output.suffix(2_000))")
                }
                try await Self.withAdminClient(url: url) { client in
                    for service in GuildStack.services {
                        let table = "\(service.schema).schema_migrations"
                        var versions: [Int] = []
                        for try await version in try await client.query(PostgresQuery(unsafeSQL: "SELECT version FROM \(table) ORDER BY version"), logger: testLogger).decode(Int.self) {
                            versions.append(version)
                        }
                        let expected = service.migrations.migrations.map(\.version).sorted()
                        #expect(versions == expected, "\(service.name): applied \(versions), declared \(expected)")
                    }
                }
                // Each migration was run by one replica only: the others found it applied.
                for service in GuildStack.services {
                    let lines = started.filter { $0.name == service.name }.flatMap { $0.output.split(separator: "\n") }.filter { $0.contains("migration applied") }
                    for migration in service.migrations.migrations {
                        let runs = lines.filter {
                            $0.contains(" name=\(migration.name) ") && $0.contains(" schema=\(service.schema) ") && ($0.hasSuffix(" version=\(migration.version)") || $0.contains(" version=\(migration.version) "))
                        }.count
                        #expect(runs == 1, "\(service.name): migration \(migration.version) was run \(runs) times")
                    }
                }
            } then: {
                for service in started { await service.process.stop(grace: .seconds(10)) }
            }
        } catch {
            try? await Self.drop(database, server: server)
            throw error
        }
        try await Self.drop(database, server: server)
    }

    /// `url` with its database replaced by `database`.
    static func url(_ url: String, database: String) throws -> String {
        var components = try #require(URLComponents(string: url))
        components.path = "/" + database
        return try #require(components.string)
    }

    static func drop(_ database: String, server: String) async throws {
        try await withAdminClient(url: server) { admin in
            try await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(database) WITH (FORCE)"), logger: testLogger)
        }
    }

    static func withAdminClient(url: String, _ body: @Sendable (PostgresClient) async throws -> Void) async throws {
        let client = PostgresClient(configuration: try .init(url: url, schema: "public"), backgroundLogger: testLogger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await body(client)
        }
    }
}
