import Foundation
import GuildCore
import GuildRedis
import GuildPostgres
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// Publishes events that their writer hands over right after commit, so live fan-out (a chat
/// message reaching the room's sockets) does not wait for the relay to find them.
///
/// The outbox stays the guarantee: a handed-over event is written with
/// ``Outbox/write(_:on:logger:handedOver:)`` in the change's transaction, where the relay
/// leaves it alone for ``handOverWindow``. The publisher sends what it was handed in batches
/// (one Redis script each, the relay's, so an id is published at most once whoever gets there
/// first) and marks the rows published in batches too. Whatever it could not publish or mark —
/// Redis away, a crash, a shutdown past its grace — the relay publishes once the window is over.
public final class EventPublisher: Service, Sendable {
    /// How long the relay leaves a handed-over event to its writer.
    public static let handOverWindow: Duration = .seconds(2)

    private struct Pending {
        var events: [EventEnvelope] = []
        var published: [UUID] = []
    }

    private let postgres: any PostgresSource
    private let redis: RedisClient
    private let logger: Logger
    private let markInterval: Duration
    private let pending = Mutex(Pending())
    private let publishWake = WakeSignal()
    private let stopping = Atomic(false)

    /// Creates the publisher; `markInterval` is how often published rows are marked.
    public init(postgres: any PostgresSource, redis: RedisClient, logger: Logger, markInterval: Duration = .milliseconds(100)) {
        self.postgres = postgres
        self.redis = redis
        self.logger = logger
        self.markInterval = markInterval
    }

    /// Queues committed `events` for publication and returns at once.
    public func handOver(_ events: [EventEnvelope]) {
        guard !events.isEmpty else { return }
        pending.withLock { $0.events += events }
        publishWake.signal()
    }

    /// Publishes and marks until graceful shutdown, then publishes and marks what is left.
    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.publishLoop() }
                group.addTask { await self.markLoop() }
                await group.waitForAll()
            }
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
            self.publishWake.signal()
        }
    }

    private func publishLoop() async {
        var shuttingDown = false
        while true {
            let events = pending.withLock { state -> [EventEnvelope] in
                defer { state.events = [] }
                return state.events
            }
            if !events.isEmpty {
                await publish(events)
                continue
            }
            if shuttingDown { return }
            shuttingDown = stopping.load(ordering: .relaxed) || Task.isCancelled
            if !shuttingDown { await publishWake.wait(upTo: .seconds(1)) }
        }
    }

    private func publish(_ events: [EventEnvelope]) async {
        do {
            _ = try await OutboxRelay.publish(events, to: redis)
            pending.withLock { $0.published += events.map(\.id) }
        } catch {
            // The relay publishes them when the window is over.
            logger.warning("events not published at once; the relay will", metadata: ["count": "\(events.count)", "error": "\(error)"])
        }
    }

    private func markLoop() async {
        while true {
            let shuttingDown = stopping.load(ordering: .relaxed) || Task.isCancelled
            // Give the last publications a moment before the final mark.
            if shuttingDown { try? await Task.sleep(for: .milliseconds(50)) }
            await mark()
            if shuttingDown { return }
            try? await Task.sleep(for: markInterval)
        }
    }

    private func mark() async {
        let ids = pending.withLock { state -> [UUID] in
            defer { state.published = [] }
            return state.published
        }
        guard !ids.isEmpty else { return }
        do {
            try await postgres.execute("UPDATE outbox SET published_at = now() WHERE id = ANY(\(ids)) AND published_at IS NULL", logger: logger)
        } catch {
            // Unmarked rows are the relay's after the window; the script refuses to publish them twice.
            logger.warning("published events not marked; the relay will find them published", metadata: ["count": "\(ids.count)", "error": "\(error)"])
        }
    }
}
