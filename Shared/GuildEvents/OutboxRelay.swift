import Foundation
import GuildConcurrency
import GuildCore
import GuildRedis
import GuildPostgres
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Moves committed events from the outbox to Redis: the stream and the type's pub/sub channel.
///
/// Each batch is claimed with `FOR UPDATE SKIP LOCKED`, so replicas share the work, and marked
/// published in the same transaction only after Redis accepted it: if Redis is down the rows
/// stay and go out when it returns. Publication is guarded in Redis by a per-id marker, so an
/// event whose mark was lost (a crash between publish and commit) is not published twice.
public struct OutboxRelay: Service {
    private let postgres: any PostgresSource
    private let redis: RedisClient
    private let logger: Logger
    private let idleInterval: Duration
    private let batchSize: Int
    private let deadline: Duration

    /// Creates the relay.
    public init(
        postgres: any PostgresSource, redis: RedisClient, logger: Logger,
        idleInterval: Duration = .milliseconds(200), batchSize: Int = 100, deadline: Duration = .seconds(5)
    ) {
        self.postgres = postgres
        self.redis = redis
        self.logger = logger
        self.idleInterval = idleInterval
        self.batchSize = batchSize
        self.deadline = deadline
    }

    /// Relays until graceful shutdown: at once when a transaction in this database wrote to an
    /// outbox (its notification wakes the relay), and every `idleInterval` in case one was missed.
    public func run() async throws {
        let wake = WakeSignal()
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await listen(wake) }
                group.addTask { await relayLoop(wake) }
                await group.next()
                group.cancelAll()
            }
        }
    }

    /// Holds one connection listening on the schema's ``Outbox/channel(for:)`` and signals `wake` for each
    /// notification; after losing it, listens again with backoff.
    private func listen(_ wake: WakeSignal) async {
        await repeatUntilCancelled(failed: { error, wait in
            logger.debug("outbox relay stopped listening; listening again", metadata: ["error": "\(error)", "retry_in": "\(wait)"])
        }) { backoff in
            try await postgres.lease { connection in
                let schema = try await connection.query("SELECT current_schema()", logger: logger).decode(String.self).first { _ in true } ?? "public"
                try await connection.listen(on: Outbox.channel(for: schema)) { notifications in
                    backoff.reset()
                    wake.signal()  // whatever was written while not listening
                    for try await _ in notifications { wake.signal() }
                }
            }
            await backoff.pause()  // the listening connection ended
        }
    }

    private func relayLoop(_ wake: WakeSignal) async {
        var ticks = 0
        await repeatUntilCancelled(failed: { error, wait in
            logger.warning("outbox relay waiting for its dependencies", metadata: ["error": "\(error)", "retry_in": "\(wait)"])
        }) { backoff in
            let relayed = try await relayBatch()
            backoff.reset()
            ticks += 1
            if ticks % 3000 == 0 { try await pruneRelayed() }
            if relayed < batchSize { await wake.wait(upTo: idleInterval) }
        }
    }

    /// Publishes one batch of pending events; returns how many went out.
    ///
    /// A batch that has not finished by `deadline` is given up (and retried): a connection lease
    /// stuck while PostgreSQL is away must not hold the relay, or a shutdown. An event published
    /// by a batch given up is published again by the next, and the script refuses the repeat.
    @discardableResult
    public func relayBatch() async throws -> Int {
        try await withDeadline(deadline) { [self] in try await relayBatchNow() }
    }

    private func relayBatchNow() async throws -> Int {
        try await postgres.transaction(logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT id, type, occurred_at, user_id, data::text FROM outbox
                WHERE published_at IS NULL AND (relay_after IS NULL OR relay_after <= now()) ORDER BY seq LIMIT \(batchSize) FOR UPDATE SKIP LOCKED
                """,
                logger: logger
            )
            var events: [EventEnvelope] = []
            for try await (id, type, occurredAt, userId, data) in rows.decode((UUID, String, Date, String?, String).self) {
                let payload = try JSONValue(parsing: data)
                events.append(EventEnvelope(id: id, type: type, occurredAt: occurredAt, userId: userId, data: payload))
            }
            // The whole batch in one script: one round trip to Redis however many events.
            try await Self.publish(events, to: redis)
            let published = events.map(\.id)
            if !published.isEmpty {
                try await connection.query("UPDATE outbox SET published_at = now() WHERE id = ANY(\(published))", logger: logger)
                logger.debug("events relayed", metadata: ["count": "\(published.count)"])
            }
            return published.count
        }
    }

    /// Appends `event` to the stream and publishes it on its channel, once per event id.
    /// Returns false when that id had already been published.
    @discardableResult
    public static func publish(_ event: EventEnvelope, to redis: RedisClient) async throws -> Bool {
        try await publish([event], to: redis) == 1
    }

    /// Appends each of `events` to the stream and publishes it on its channel, in order, once per
    /// event id, in one script; returns how many were not published before.
    @discardableResult
    public static func publish(_ events: [EventEnvelope], to redis: RedisClient) async throws -> Int {
        guard !events.isEmpty else { return 0 }
        var keys = [EventChannels.stream]
        var arguments = [String(markerLifetimeSeconds), String(streamLength)]
        for event in events {
            keys.append(EventChannels.publishedMarker(for: event.id))
            arguments += [try event.json(), EventChannels.channel(for: event.type), event.type]
        }
        return try await redis.eval(publishScript, keys: keys, arguments: arguments).int ?? 0
    }

    private func pruneRelayed() async throws {
        try await postgres.execute("DELETE FROM outbox WHERE published_at < now() - interval '7 days'", logger: logger)
    }

    /// How long Redis remembers that an id was published (longer than any outbox row lives).
    static let markerLifetimeSeconds = 8 * 24 * 3600
    /// The approximate number of entries the stream keeps.
    static let streamLength = 1_000_000

    /// KEYS: the stream, then one marker per event; ARGV: marker lifetime, stream length, then
    /// per event its JSON, channel and type.
    private static let publishScript = """
        local published = 0
        for i = 2, #KEYS do
            local a = 3 + (i - 2) * 3
            if redis.call('SET', KEYS[i], '1', 'NX', 'EX', ARGV[1]) then
                redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'event', ARGV[a], 'type', ARGV[a + 2])
                redis.call('PUBLISH', ARGV[a + 1], ARGV[a])
                published = published + 1
            end
        end
        return published
        """
}

/// Wakes one waiter, or the next one to wait if nobody waits yet.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    /// Wakes the waiter (or lets the next wait return at once).
    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns at the next signal, after `timeout`, or when the task is cancelled.
    func wait(upTo timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.next() }
            await group.next()
            group.cancelAll()
        }
    }

    private func next() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                // Checked under the lock: a cancellation either finds the waiter here or came first.
                let now = state.withLock { state -> Bool in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            resumeWaiter()
        }
    }

    /// Resumes a registered waiter without leaving a signal pending.
    private func resumeWaiter() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
