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
        let server = try RedisServerProcess()
        try server.start()
        defer { server.stop() }
        let redisConfiguration = try RedisConfiguration(url: server.url)
        let redis = RedisClient(configuration: redisConfiguration, logger: testLogger)
        let schema = uniqueSchema("events")

        try await withTestPostgres(schema: schema) { postgres in
            let deliveriesTable = Migration(version: 2, name: "deliveries", statements: [
                "CREATE TABLE deliveries (seq bigserial PRIMARY KEY, event_id uuid NOT NULL)"
            ])
            try await MigrationRunner(schema: schema, migrations: [EventTables.migration, deliveriesTable]).run(on: postgres, logger: testLogger)
            let relay = OutboxRelay(postgres: postgres, redis: redis, logger: testLogger)
            let consumer = EventConsumer(
                group: "consumer-\(schema)", redis: redisConfiguration, postgres: postgres, logger: testLogger,
                handlers: [Self.type: { event, connection, logger in
                    try await connection.query("INSERT INTO deliveries (event_id) VALUES (\(event.id))", logger: logger)
                }]
            )

            // Redis is down when the change commits: the event waits in the outbox.
            server.stop()
            let event = EventEnvelope(type: Self.type, userId: "user-1", data: .object(["amount": .number(3)]))
            try await postgres.withTransaction(logger: testLogger) { connection in
                try await Outbox.write(event, on: connection, logger: testLogger)
            }
            let failure = await #expect(throws: (any Error).self) { try await relay.relayBatch() }
            #expect(failure is RedisError || (failure as? PostgresTransactionError)?.closureError is RedisError, "\(String(describing: failure))")
            #expect(try await pending(postgres) == 1)

            // Redis returns: the relay sends it, the consumer in its group applies it once.
            try server.start()
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
