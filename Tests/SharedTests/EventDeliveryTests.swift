import Foundation
import GuildCore
import GuildEvents
import GuildMigrations
import GuildRedis
import GuildTestSupport
import PostgresNIO
import Testing

@Suite("Events written with a change reach consumers once, even across a Redis outage")
struct EventDeliveryTests {
    static let type = "test.happened"

    func deliveries(_ postgres: PostgresClient) async throws -> [UUID] {
        var ids: [UUID] = []
        for try await id in try await postgres.query("SELECT event_id FROM deliveries ORDER BY seq", logger: testLogger).decode(UUID.self) {
            ids.append(id)
        }
        return ids
    }

    func pending(_ postgres: PostgresClient) async throws -> Int {
        var count = 0
        for try await value in try await postgres.query("SELECT count(*)::int FROM outbox WHERE published_at IS NULL", logger: testLogger).decode(Int.self) {
            count = value
        }
        return count
    }

    @Test func anEventWrittenWhileRedisIsDownGoesOutOnceWhenItReturns() async throws {
        try await RedisServerProcess.withServer { server in
            let redisConfiguration = try RedisConfiguration(url: server.url)
            let redis = RedisClient(configuration: redisConfiguration, logger: testLogger)
            let schema = uniqueSchema("events")

            try await withTestPostgres(schema: schema) { postgres in
                let deliveriesTable = Migration(version: 2, name: "deliveries", statements: [
                    "CREATE TABLE deliveries (seq bigserial PRIMARY KEY, event_id uuid NOT NULL)"
                ])
                try await MigrationRunner(schema: schema, migrations: EventTables.all + [deliveriesTable]).run(on: postgres, logger: testLogger)
                let relay = OutboxRelay(postgres: postgres, redis: redis, logger: testLogger)
                let consumer = EventConsumer(
                    group: "consumer-\(schema)", redis: redisConfiguration, postgres: postgres, logger: testLogger,
                    handlers: [Self.type: { event, connection, logger in
                        try await connection.query("INSERT INTO deliveries (event_id) VALUES (\(event.id))", logger: logger)
                    }]
                )

                // Redis is down when the change commits: the event waits in the outbox.
                await server.stop()
                let event = EventEnvelope(type: Self.type, userId: "user-1", data: .object(["amount": .number(3)]))
                try await postgres.withTransaction(logger: testLogger) { connection in
                    try await Outbox.write(event, on: connection, logger: testLogger)
                }
                let failure = await #expect(throws: (any Error).self) { try await relay.relayBatch() }
                #expect(failure is RedisError || (failure as? PostgresTransactionError)?.closureError is RedisError, "\(String(describing: failure))")
                #expect(try await pending(postgres) == 1)

                // Redis returns: the relay sends it, the consumer in its group applies it once.
                try await server.start()
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await consumer.run() }
                    #expect(try await relay.relayBatch() == 1)
                    #expect(try await pending(postgres) == 0)
                    #expect(await eventually { (try? await deliveries(postgres)) == [event.id] })

                    // A relay that crashed before marking the row publishes it again: Redis refuses the duplicate id.
                    try await postgres.query("UPDATE outbox SET published_at = NULL", logger: testLogger)
                    #expect(try await relay.relayBatch() == 1)
                    #expect(try await redis.send(["XLEN", EventChannels.stream]).int == 1)

                    // Even a duplicate that reaches the stream is applied once, then a later event still flows.
                    try await redis.send(["XADD", EventChannels.stream, "*", "event", try event.json()])
                    let later = EventEnvelope(type: Self.type, userId: "user-1", data: .null)
                    try await postgres.withTransaction(logger: testLogger) { connection in
                        try await Outbox.write(later, on: connection, logger: testLogger)
                    }
                    #expect(try await relay.relayBatch() == 1)
                    #expect(await eventually { (try? await deliveries(postgres)) == [event.id, later.id] })
                    group.cancelAll()
                }
            }
            try await redis.shutdown()
        }
    }

    /// A handed-over event goes out at once, through its writer's publisher, and is marked
    /// published; one the publisher could not send (Redis away) is the relay's after the window.
    @Test func aHandedOverEventGoesOutAtOnceOrThroughTheRelayAfterTheWindow() async throws {
        try await RedisServerProcess.withServer { server in
            let redis = RedisClient(configuration: try RedisConfiguration(url: server.url), logger: testLogger)
            let schema = uniqueSchema("handover")

            try await withTestPostgres(schema: schema) { postgres in
                try await MigrationRunner(schema: schema, migrations: EventTables.all).run(on: postgres, logger: testLogger)
                let relay = OutboxRelay(postgres: postgres, redis: redis, logger: testLogger)
                let publisher = EventPublisher(postgres: postgres, redis: redis, logger: testLogger, markInterval: .milliseconds(20))
                func write(_ event: EventEnvelope) async throws {
                    try await postgres.withTransaction(logger: testLogger) { connection in
                        try await Outbox.write(event, on: connection, logger: testLogger, handedOver: true)
                    }
                }
                func streamIds() async throws -> [String] {
                    let entries = try await redis.send(["XRANGE", EventChannels.stream, "-", "+"])
                    return entries.elements.compactMap { entry in
                        guard let json = entry.elements.last?.elements.dropFirst().first?.string else { return nil }
                        return (try? EventEnvelope.parse(json))?.id.uuidString
                    }
                }

                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await publisher.run() }

                    let first = EventEnvelope(type: Self.type, userId: "user-1", data: .null)
                    try await write(first)
                    #expect(try await relay.relayBatch() == 0, "the relay leaves a handed-over event to its writer")
                    publisher.handOver([first])
                    #expect(await eventually { (try? await pending(postgres)) == 0 })
                    #expect(try await streamIds() == [first.id.uuidString])

                    // Redis is away when the second is handed over: it waits in the outbox for the relay.
                    await server.stop()
                    let second = EventEnvelope(type: Self.type, userId: "user-1", data: .null)
                    try await write(second)
                    publisher.handOver([second])
                    // Within the window (2 s from the write; this runs milliseconds after it) the relay leaves it alone.
                    #expect(try await relay.relayBatch() == 0, "still within the window")
                    #expect(try await pending(postgres) == 1)
                    try await server.start()
                    // The publisher could not send it, nor mark it: once the window is over, the relay finds it unpublished.
                    let relayed = await eventually(timeout: .seconds(30), every: .milliseconds(100)) { (try? await relay.relayBatch()) == 1 }
                    #expect(relayed, "the relay did not publish the event the publisher could not send")
                    #expect(try await pending(postgres) == 0)
                    #expect(try await streamIds().contains(second.id.uuidString))
                    group.cancelAll()
                }
            }
            try await redis.shutdown()
        }
    }

    @Test func theEnvelopeKeepsTheContractShape() throws {
        let event = EventEnvelope(
            id: UUID(uuidString: "3F2504E0-4F89-11D3-9A0C-0305E82C3301")!, type: "tickets.message_created",
            occurredAt: Date(timeIntervalSince1970: 1_795_000_000), userId: "u", data: .object(["ticket_id": .string("t1")])
        )
        let json = try event.json()
        #expect(json.contains(#""occurred_at":"2026-11-18T"#))
        #expect(json.contains(#""user_id":"u""#))
        #expect(try EventEnvelope.parse(json) == event)
    }
}
