import BookingService
import Foundation
import GuildConcurrency
import GuildPostgres
import GuildServiceKit
import GuildTestSupport
import Hummingbird
import HummingbirdTesting
import Logging
import PostgresNIO
import Testing

/// While PostgreSQL is away, requests are answered at once (503 with Retry-After), the service
/// is back within a second of the database's return, and a 503 always means nothing was written.
/// (In the resilience suite, whose tests take turns stopping the outage cluster.)
extension ResilienceTests {
    /// What "at once" allows: half of a request's 5 s database deadline (`Database.defaultDeadline`), so
    /// an answer that waited for the deadline (or a connection attempt) fails, and a machine three
    /// times slower and busy still passes; an idle one answers in milliseconds.
    static let atOnce = Database.defaultDeadline / 2
    /// What "back within moments" allows: the pool probes every 100 ms and takes over within one
    /// probe of the database's return; 3 s is 30 probes — room for a loaded machine's slow start of
    /// PostgreSQL — and less than a pool that waited out a backoff or a deadline would take.
    static let recovery = Duration.seconds(3)

    @Test func aStoppedDatabaseIsAnsweredAtOnceAndServiceResumesWithinASecond() async throws {
        let stop = try TestEnvironment.require("GUILDHALL_TEST_OUTAGE_PG_STOP")
        let start = try TestEnvironment.require("GUILDHALL_TEST_OUTAGE_PG_START")
        let reader = testReader(database: try TestEnvironment.require("GUILDHALL_TEST_OUTAGE_DATABASE_URL"), redis: try TestEnvironment.redisURL())
        let app = try await BookingService.buildApplication(reader: reader)
        try await app.test(.live) { client in
            // A public read that needs the database.
            #expect(try await client.execute(uri: "/api/booking/services", method: .get).status == .ok)

            #expect(try await runShell(stop) == 0)
            var answers: [(status: HTTPResponse.Status, retryAfter: String?, took: Duration)] = []
            do {
                // The first request may be the one that finds out; every later one is answered at once.
                for _ in 0..<20 {
                    let began = ContinuousClock.now
                    let response = try await client.execute(uri: "/api/booking/services?fresh=\(UUID())", method: .get)
                    answers.append((response.status, response.headers[.retryAfter], ContinuousClock.now - began))
                }
            } catch {
                _ = try? await runShell(start)
                throw error
            }
            #expect(answers.allSatisfy { $0.status == .serviceUnavailable && $0.retryAfter != nil }, "\(answers)")
            // At once: a request that waited for the database would be answered at its deadline. Half
            // of it tells the two apart on a machine three times slower and busy (milliseconds when idle).
            let slow = answers.dropFirst().filter { $0.took > Self.atOnce }
            #expect(slow.isEmpty, "answers while the database is known to be down took \(slow.map(\.took))")

            #expect(try await runShell(start) == 0)
            let back = ContinuousClock.now
            let recovered = try await eventually(timeout: .seconds(10), every: .milliseconds(20)) {
                try await client.execute(uri: "/api/booking/services?fresh=\(UUID())", method: .get).status == .ok
            }
            let took = ContinuousClock.now - back
            #expect(recovered && took < Self.recovery, "the service took \(took) to answer again after the database was back")
        }
    }

    /// A transaction whose deadline passes while it waits for a lock answers at its deadline,
    /// and what it did is rolled back when the lock is released — not committed after the 503.
    @Test func aTransactionPastItsDeadlineIsRolledBackNotCommittedLater() async throws {
        let schema = uniqueSchema("deadline")
        try await withTestPostgres(schema: schema) { client in
            try await client.query(PostgresQuery(unsafeSQL: "CREATE SCHEMA \(schema)"), logger: testLogger)
            try await client.query("CREATE TABLE writes (id int PRIMARY KEY)", logger: testLogger)
            let database = Database(source: client, deadline: .milliseconds(300))
            try await client.withConnection { holder in
                try await holder.query("BEGIN", logger: testLogger)
                try await holder.query("LOCK TABLE writes IN ACCESS EXCLUSIVE MODE", logger: testLogger)
                let began = ContinuousClock.now
                await #expect(throws: DeadlineExceeded.self) {
                    try await database.transaction(logger: testLogger) { connection in
                        try await connection.query("INSERT INTO writes VALUES (1)", logger: testLogger)
                    }
                }
                #expect(ContinuousClock.now - began < Self.atOnce, "the transaction was not answered at its deadline")
                // The lock goes: the waiting INSERT now runs, and must not be committed.
                try await holder.query("COMMIT", logger: testLogger)
            }
            try await Task.sleep(for: .milliseconds(500))
            let rows = try await client.query("SELECT count(*)::int FROM writes", logger: testLogger).decode(Int.self).first { _ in true }
            #expect(rows == 0, "a write answered with 503 was committed afterwards")

            // Within its deadline, the same transaction commits.
            try await database.transaction(logger: testLogger) { connection in
                _ = try await connection.query("INSERT INTO writes VALUES (2)", logger: testLogger)
            }
            let committed = try await client.query("SELECT count(*)::int FROM writes", logger: testLogger).decode(Int.self).first { _ in true }
            #expect(committed == 1)
        }
    }

    /// The pool itself: unreachable at once while the database is stopped, reachable again
    /// within a second of its return, without a restart.
    @Test func thePoolKnowsWhenTheDatabaseIsAwayAndBack() async throws {
        let stop = try TestEnvironment.require("GUILDHALL_TEST_OUTAGE_PG_STOP")
        let start = try TestEnvironment.require("GUILDHALL_TEST_OUTAGE_PG_START")
        let url = try TestEnvironment.require("GUILDHALL_TEST_OUTAGE_DATABASE_URL")
        let pool = PostgresPool(
            client: try .init(url: url, schema: "public"), watch: try .init(url: url, schema: "public"),
            eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: testLogger
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await pool.run() }
            defer { group.cancelAll() }
            try await pool.execute("SELECT 1", logger: testLogger)
            #expect(try await runShell(stop) == 0)
            #expect(await eventually(timeout: .seconds(2), every: .milliseconds(10)) { !pool.isReachable })
            let began = ContinuousClock.now
            await #expect(throws: DatabaseUnreachable.self) { try await pool.execute("SELECT 1", logger: testLogger) }
            #expect(ContinuousClock.now - began < Self.atOnce, "a call while the database is known to be down waited")
            #expect(try await runShell(start) == 0)
            let back = ContinuousClock.now
            #expect(await eventually(timeout: .seconds(5), every: .milliseconds(10)) { pool.isReachable })
            try await pool.execute("SELECT 1", logger: testLogger)
            #expect(ContinuousClock.now - back < Self.recovery, "the pool took \(ContinuousClock.now - back) to serve again")
        }
    }
}
