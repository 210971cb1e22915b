import Foundation
import GuildConcurrency
import GuildCore
import GuildRedis
import GuildPostgres
import Logging
import PostgresNIO
import ServiceLifecycle

/// Consumes the event stream for one service, exactly once per event id.
///
/// Each handled event runs in a PostgreSQL transaction that first records its id in
/// `processed_events`; a redelivered event finds its id there and is acknowledged without
/// running again. A handler that throws leaves the event pending, to be retried.
public struct EventConsumer: Service {
    /// Applies one event to the service's data inside the transaction.
    public typealias Handler = @Sendable (EventEnvelope, PostgresConnection, Logger) async throws -> Void

    private let reader: RedisStreamReader

    /// Creates a consumer in group `group` for the event types in `handlers`. Events `wants`
    /// refuses have nothing to apply: they are acknowledged without a transaction.
    public init(
        group: String,
        consumer: String = EventConsumer.defaultConsumerName(),
        redis: RedisConfiguration,
        postgres: any PostgresSource,
        logger: Logger,
        handlers: [String: Handler],
        wants: @escaping @Sendable (EventEnvelope) -> Bool = { _ in true }
    ) {
        self.reader = RedisStreamReader(configuration: redis, stream: EventChannels.stream, group: group, consumer: consumer, logger: logger) { entry in
            // Entries name their type beside the event, so others' events are passed over unparsed.
            if let type = entry.fields["type"], handlers[type] == nil { return true }
            guard let text = entry.fields["event"], let envelope = try? EventEnvelope.parse(text) else {
                // Trimmed or foreign entries carry nothing to apply.
                return true
            }
            guard let handler = handlers[envelope.type], wants(envelope) else { return true }
            do {
                try await Self.apply(envelope, postgres: postgres, logger: logger, handler: handler)
                return true
            } catch {
                logger.warning("event handling failed; will retry", metadata: ["event_id": "\(envelope.id)", "type": "\(envelope.type)", "error": "\(error)"])
                return false
            }
        }
    }

    /// Runs until graceful shutdown.
    public func run() async throws { try await reader.run() }

    /// Applies `envelope` once: returns false when its id had been processed before.
    ///
    /// An event not applied within `deadline` is given up and delivered again later (a lease
    /// stuck while PostgreSQL is away must not hold the consumer, or a shutdown); its id in
    /// `processed_events` makes a second application change nothing.
    @discardableResult
    public static func apply(
        _ envelope: EventEnvelope, postgres: any PostgresSource, logger: Logger, deadline: Duration = .seconds(10), handler: @escaping Handler
    ) async throws -> Bool {
        try await withDeadline(deadline) { try await applyNow(envelope, postgres: postgres, logger: logger, handler: handler) }
    }

    private static func applyNow(_ envelope: EventEnvelope, postgres: any PostgresSource, logger: Logger, handler: @escaping Handler) async throws -> Bool {
        try await postgres.transaction(logger: logger) { connection in
            let inserted = try await connection.query(
                "INSERT INTO processed_events (event_id, type) VALUES (\(envelope.id), \(envelope.type)) ON CONFLICT DO NOTHING RETURNING event_id",
                logger: logger
            )
            var isNew = false
            for try await _ in inserted { isNew = true }
            if isNew { try await handler(envelope, connection, logger) }
            return isNew
        }
    }

    /// A name unique to this process: host and pid.
    public static func defaultConsumerName() -> String {
        "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
    }
}
