import Foundation
import GuildCore
import Logging
import PostgresNIO

/// Writes events into the service's outbox inside the caller's transaction.
///
/// The event commits with the change that caused it or not at all; ``OutboxRelay`` sends it on.
/// The same transaction notifies the schema's channel (``channel(for:)``), which PostgreSQL
/// delivers at commit, so the schema's relays wake for the event at once instead of at their
/// next poll, and no other service's relay wakes for it.
public enum Outbox {
    /// The PostgreSQL notification channel that wakes the relays of `schema`.
    public static func channel(for schema: String) -> String { "guildhall_outbox_\(schema)" }

    /// Adds `event` to the outbox on `connection` (which should be inside a transaction), through
    /// the schema's `outbox_write` (``EventTables/writer``).
    ///
    /// With `handedOver`, the writer hands the event to its ``EventPublisher`` once the
    /// transaction has committed: the relays are not woken and leave the row alone for
    /// ``EventPublisher/handOverWindow``, after which they publish it if the publisher did not.
    public static func write(_ event: EventEnvelope, on connection: PostgresConnection, logger: Logger, handedOver: Bool = false) async throws {
        let handOver = handedOver ? handOverSeconds : nil
        try await connection.query(
            """
            SELECT outbox_write(\(event.id), \(event.type), \(event.occurredAt), \(event.userId), \(event.data.jsonText())::jsonb, \(handOver))
            """,
            logger: logger
        )
    }

    /// `hand_over_seconds` of `outbox_write` for an event its writer hands over: the publisher's window.
    public static let handOverSeconds = Int(EventPublisher.handOverWindow.components.seconds)
}

/// Names of the Redis keys events travel through.
public enum EventChannels {
    /// The stream every event is appended to, for consumers that must not miss one.
    public static let stream = "guildhall:events"
    /// The pub/sub channel of one event type, for live fan-out.
    public static func channel(for type: String) -> String { "guildhall:events:\(type)" }
    /// The marker that says an event id has been published.
    static func publishedMarker(for id: UUID) -> String { "guildhall:published:\(id.uuidString.lowercased())" }
}
