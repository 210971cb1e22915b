import Foundation
import GuildCore
import GuildEvents
import GuildPostgres
import GuildRedis
import GuildServiceKit
import GuildTestSupport
import Logging
import PostgresNIO
import Synchronization

/// The stack's own PostgreSQL, pinned to one service's schema: for checking invariants the API
/// cannot show and for moving a booking through time.
///
/// One client per schema serves the whole test run and is never shut down: tests come and go
/// while it keeps its connections, instead of each test starting and stopping a pool.
func withStackDatabase<T: Sendable>(schema: String, _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
    try await body(try StackDatabases.shared.client(schema: schema))
}

private final class StackDatabases: Sendable {
    static let shared = StackDatabases()
    private let clients = Mutex<[String: PostgresClient]>([:])

    func client(schema: String) throws -> PostgresClient {
        let url = try TestEnvironment.require("GUILDHALL_STACK_DATABASE_URL")
        return try clients.withLock { clients in
            if let client = clients[schema] { return client }
            let client = PostgresClient(configuration: try .init(url: url, schema: schema), backgroundLogger: e2eLogger)
            // Runs for the rest of the test process; the process's end closes its connections.
            Task.detached { await client.run() }
            clients[schema] = client
            return client
        }
    }
}

/// The events published on the stack's Redis while a test runs.
final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var received: [EventEnvelope] = []
    private var isSubscribed = false

    var events: [EventEnvelope] { lock.withLock { received } }
    var subscribed: Bool { lock.withLock { isSubscribed } }

    fileprivate func markSubscribed() { lock.withLock { isSubscribed = true } }
    fileprivate func append(_ event: EventEnvelope) { lock.withLock { received.append(event) } }

    /// The events of `type` whose data names `bookingId`.
    func events(_ type: String, bookingId: String) -> [EventEnvelope] {
        events.filter { $0.type == type && $0.data["booking_id"]?.stringValue == bookingId }
    }
}

/// Runs `body` while a Redis subscriber of the stack's event channels for `types` collects what is published.
func withEventLog<T: Sendable>(types: [String], _ body: @Sendable (EventLog) async throws -> T) async throws -> T {
    let log = EventLog()
    let subscriber = RedisSubscriber(
        configuration: try RedisConfiguration(url: try TestEnvironment.require("GUILDHALL_STACK_REDIS_URL")),
        channels: types.map(EventChannels.channel(for:)),
        logger: e2eLogger,
        onSubscribed: { log.markSubscribed() },
        onMessage: { message in
            if let event = try? EventEnvelope.parse(message.payload) { log.append(event) }
        }
    )
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await subscriber.run() }
        defer { group.cancelAll() }
        guard await eventually(timeout: .seconds(60), { log.subscribed }) else {
            throw StackClient.Failure(message: "could not subscribe to the stack's Redis")
        }
        return try await body(log)
    }
}

let e2eLogger: Logger = {
    var logger = Logger(label: "e2e")
    logger.logLevel = .warning
    return logger
}()
