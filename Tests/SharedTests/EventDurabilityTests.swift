import Foundation
import GuildCore
import GuildEvents
import GuildMigrations
import GuildRedis
import GuildTestSupport
import PostgresNIO
import Synchronization
import Testing

/// Redis persisting as the local stack and compose run it (append-only file, fsync every second)
/// and killed outright: what it had acknowledged is still there when it restarts on the same
/// data, and every consumer group applies every event exactly once.
@Suite("Events survive a Redis killed between publish and consume")
struct EventDurabilityTests {
    static let type = "test.durable"

    /// Holds a consumer's handler at one event until the test lets it go.
    ///
    /// Released on every way out of the test: a handler held for good would keep its transaction
    /// open, and dropping the schema afterwards would wait for it forever.
    final class HandlerGate: Sendable {
        private struct State {
            var reached = false
            var released = false
            var waiters: [CheckedContinuation<Void, Never>] = []
        }
        private let state = Mutex(State())

        /// Waits here until ``release()``.
        func hold() async {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let through = state.withLock { state -> Bool in
                    state.reached = true
                    if state.released { return true }
                    state.waiters.append(continuation)
                    return false
                }
                if through { continuation.resume() }
            }
        }

        /// Whether a handler has come to the gate.
        var isReached: Bool { state.withLock { $0.reached } }

        /// Lets every held handler (and later ones) through.
        func release() {
            let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.released = true
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    static let applicationsTable = Migration(version: 1, name: "applications", statements: [
        "CREATE TABLE applications (seq bigserial PRIMARY KEY, event_id uuid NOT NULL)"
    ])

    /// A consumer in `group` recording each application in its schema's `applications`; it holds
    /// at the event numbered `holdAt` until `gate` opens.
    static func consumer(group: String, redis: RedisConfiguration, postgres: PostgresClient, holdAt: Int? = nil, gate: HandlerGate? = nil) -> EventConsumer {
        EventConsumer(
            group: group, redis: redis, postgres: postgres, logger: testLogger,
            handlers: [type: { event, connection, logger in
                if let holdAt, let gate, case .number(let number)? = event.data["n"], Int(number) == holdAt { await gate.hold() }
                try await connection.query("INSERT INTO applications (event_id) VALUES (\(event.id))", logger: logger)
            }]
        )
    }

    /// Applications in total, distinct events applied, and how many of `expected` were applied.
    static func applications(_ postgres: PostgresClient, of expected: [UUID]) async throws -> [Int] {
        let rows = try await postgres.query(
            "SELECT count(*)::int, count(DISTINCT event_id)::int, count(DISTINCT event_id) FILTER (WHERE event_id = ANY(\(expected)))::int FROM applications",
            logger: testLogger
        )
        for try await (total, distinct, known) in rows.decode((Int, Int, Int).self) { return [total, distinct, known] }
        return []
    }

    static func unpublished(_ postgres: PostgresClient) async throws -> Int {
        for try await count in try await postgres.query("SELECT count(*)::int FROM outbox WHERE published_at IS NULL", logger: testLogger).decode(Int.self) {
            return count
        }
        return -1
    }

    /// Entries of the stream read by `group` and not acknowledged.
    static func pending(_ redis: RedisClient, group: String) async throws -> Int {
        try await redis.send(["XPENDING", EventChannels.stream, group]).elements.first?.int ?? -1
    }

    /// Writes `count` events numbered from `first` in one transaction; returns them.
    static func write(_ count: Int, from first: Int, to postgres: PostgresClient) async throws -> [EventEnvelope] {
        let events = (first..<first + count).map { EventEnvelope(type: type, userId: "user-\($0)", data: .object(["n": .number(Double($0))])) }
        try await postgres.withTransaction(logger: testLogger) { connection in
            for event in events { try await Outbox.write(event, on: connection, logger: testLogger) }
        }
        return events
    }

    @Test func everyConsumerGroupAppliesEveryEventOnceAfterRedisIsKilledAndRestartedOnItsData() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("guildhall-aof-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try await RedisServerProcess.withServer(appendOnlyDirectory: folder) { server in
            let configuration = try RedisConfiguration(url: server.url)
            let redis = RedisClient(configuration: configuration, logger: testLogger)
            let base = uniqueSchema("durable")
            let (groupA, groupB, groupC) = ("reading-\(base)", "idle-\(base)", "late-\(base)")
            let gate = HandlerGate()

            try await withTestPostgres(schema: "\(base)_outbox", migrations: EventTables.all) { outbox in
                try await withTestPostgres(schema: "\(base)_a", migrations: [EventTables.migration, Self.applicationsTable]) { postgresA in
                    try await withTestPostgres(schema: "\(base)_b", migrations: [EventTables.migration, Self.applicationsTable]) { postgresB in
                        try await withTestPostgres(schema: "\(base)_c", migrations: [EventTables.migration, Self.applicationsTable]) { postgresC in
                            let relay = OutboxRelay(postgres: outbox, redis: redis, logger: testLogger)
                            // Group B exists before anything is published, but nobody reads for it until after the restart.
                            _ = try await redis.send(["XGROUP", "CREATE", EventChannels.stream, groupB, "0", "MKSTREAM"])

                            var events = try await Self.write(200, from: 1, to: outbox)
                            #expect(try await relay.relayBatch() == 100)
                            #expect(try await relay.relayBatch() == 100)
                            #expect(try await Self.unpublished(outbox) == 0)

                            try await withThrowingTaskGroup(of: Void.self) { group in
                                defer { gate.release() }
                                // Group A reads a batch, applies events 1–49 and is held in the middle of event 50:
                                // 50–100 are read and not acknowledged, 101–200 not read yet.
                                let consumerA = Self.consumer(group: groupA, redis: configuration, postgres: postgresA, holdAt: 50, gate: gate)
                                group.addTask { try await consumerA.run() }
                                #expect(await eventually { gate.isReached }, "group A never reached event 50")
                                let readNotAcknowledged = try await Self.pending(redis, group: groupA)
                                #expect(readNotAcknowledged > 1, "group A should hold read, unacknowledged entries; XPENDING says \(readNotAcknowledged)")

                                // Twenty more go out — XADD acknowledged, the outbox rows marked — and Redis is killed at once.
                                events += try await Self.write(20, from: 201, to: outbox)
                                #expect(try await relay.relayBatch() == 20)
                                #expect(try await Self.unpublished(outbox) == 0)
                                await server.kill()

                                // Ten are written while Redis is away: they wait in the outbox.
                                events += try await Self.write(10, from: 221, to: outbox)
                                await #expect(throws: (any Error).self) { try await relay.relayBatch() }

                                // Back on the same data: the stream and group A's unacknowledged entries are still there.
                                try await server.start()
                                #expect(try await redis.send(["XLEN", EventChannels.stream]).int == 220, "the stream lost entries Redis had acknowledged")
                                #expect((try? await Self.pending(redis, group: groupA)) == readNotAcknowledged, "group A's pending entries did not survive")
                                #expect(try await relay.relayBatch() == 10)
                                #expect(try await Self.unpublished(outbox) == 0)

                                // Event 50's transaction commits after the kill, so its acknowledgement fails: it comes back.
                                gate.release()
                                let consumerB = Self.consumer(group: groupB, redis: configuration, postgres: postgresB)
                                let consumerC = Self.consumer(group: groupC, redis: configuration, postgres: postgresC)
                                group.addTask { try await consumerB.run() }
                                group.addTask { try await consumerC.run() }

                                let ids = events.map(\.id)
                                let everyone = [(groupA, postgresA), (groupB, postgresB), (groupC, postgresC)]
                                for (name, postgres) in everyone {
                                    // A ceiling only a lost event reaches: a consumer that lost Redis retries within 5 s.
                                    let applied = await eventually(timeout: .seconds(60), every: .milliseconds(200)) {
                                        (try? await Self.applications(postgres, of: ids))?.last == ids.count
                                    }
                                    let counts = try await Self.applications(postgres, of: ids)
                                    #expect(applied, "\(name): applications, distinct events, events of this test \(counts); expected \(ids.count)")
                                }
                                for (name, _) in everyone {
                                    let drained = await eventually(timeout: .seconds(30), every: .milliseconds(200)) {
                                        (try? await Self.pending(redis, group: name)) == 0
                                    }
                                    #expect(drained, "\(name) still has pending entries")
                                }
                                // Settled: one more event goes out after everything else; once each group has applied
                                // it, each event of the test was applied exactly once by each group, and nothing else.
                                let marker = try await Self.write(1, from: 231, to: outbox)
                                #expect(try await relay.relayBatch() == 1)
                                for (name, postgres) in everyone {
                                    let reached = await eventually(timeout: .seconds(60), every: .milliseconds(100)) {
                                        (try? await Self.applications(postgres, of: marker.map(\.id)))?.last == 1
                                    }
                                    #expect(reached, "\(name) did not apply the marker")
                                    #expect(try await Self.applications(postgres, of: ids) == [ids.count + 1, ids.count + 1, ids.count], "\(name)")
                                }
                                group.cancelAll()
                            }
                        }
                    }
                }
            }
            try await redis.shutdown()
        }
    }
}
