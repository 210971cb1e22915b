import GuildEvents
import GuildMigrations
import GuildServiceKit
import GuildTestSupport
import PostgresNIO
import Testing

@Suite("Migrations apply once, in order, all or nothing", .watched)
struct MigrationRunnerTests {
    static let first = Migration(version: 1, name: "things", statements: ["CREATE TABLE things (id int PRIMARY KEY)", "INSERT INTO things VALUES (1)"])
    static let second = Migration(version: 2, name: "more things", statements: ["INSERT INTO things VALUES (2)"])

    @Test func replicasStartingTogetherApplyEachMigrationOnce() async throws {
        let schema = uniqueSchema("migr")
        try await withTestPostgres(schema: schema) { client in
            let runner = MigrationRunner(schema: schema, migrations: [Self.second, Self.first])
            let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
                for _ in 0..<4 { group.addTask { try await runner.run(on: client, logger: testLogger) } }
                return try await group.reduce(into: [Int]()) { $0 += $1 }
            }
            #expect(applied.sorted() == [1, 2])
            let rows = try await client.query("SELECT id FROM things ORDER BY id", logger: testLogger)
            var ids: [Int] = []
            for try await id in rows.decode(Int.self) { ids.append(id) }
            #expect(ids == [1, 2])
            #expect(try await runner.run(on: client, logger: testLogger).isEmpty)
        }
    }

    @Test func aFailingMigrationLeavesNothingBehind() async throws {
        let schema = uniqueSchema("migr")
        try await withTestPostgres(schema: schema) { client in
            let broken = Migration(version: 2, name: "broken", statements: ["INSERT INTO things VALUES (1)"])
            let runner = MigrationRunner(schema: schema, migrations: [Self.first, broken])
            let failure = await #expect(throws: (any Error).self) { try await runner.run(on: client, logger: testLogger) }
            #expect(failure is PSQLError || (failure as? PostgresTransactionError)?.closureError is PSQLError, "\(String(describing: failure))")
            let rows = try await client.query(
                "SELECT count(*)::int FROM information_schema.tables WHERE table_schema = \(schema) AND table_name = 'things'",
                logger: testLogger
            )
            for try await count in rows.decode(Int.self) { #expect(count == 0) }
        }
    }

    /// Schemas made before the kit owned the outbox and the idempotency keys created them in a
    /// migration of their own (booking's versions 1 and 3); the kit's versions then find them there.
    @Test func aSchemaThatMadeTheSharedTablesItselfTakesTheKitsVersions() async throws {
        let schema = uniqueSchema("migr")
        try await withTestPostgres(schema: schema) { client in
            let idempotencyBefore = Migration(version: 3, name: "idempotency keys", statements: IdempotencyTables.migration.statements)
            let outboxBefore = Migration(version: 1, name: "event outbox and inbox", statements: EventTables.migration.statements)
            try await MigrationRunner(schema: schema, migrations: [outboxBefore, idempotencyBefore]).run(on: client, logger: testLogger)
            try await client.query("INSERT INTO outbox (id, type, occurred_at, data) VALUES (gen_random_uuid(), 't', now(), '{}')", logger: testLogger)

            let now = MigrationRunner(schema: schema, migrations: ServiceDescriptor.sharedMigrations)
            #expect(try await now.run(on: client, logger: testLogger) == [-4, -3, -2, -1, 0])
            let rows = try await client.query("SELECT count(*)::int FROM outbox", logger: testLogger)
            for try await count in rows.decode(Int.self) { #expect(count == 1, "the events waiting in the outbox are kept") }
            #expect(try await now.run(on: client, logger: testLogger).isEmpty)
        }
    }
}
