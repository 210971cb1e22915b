import Foundation
import GuildCore
import GuildEvents
import GuildRedis
import Logging
import PostgresNIO

/// `booking.started` and `booking.ended` → an inbox entry for the booking's owner (with its push)
/// and `booking_started` / `booking_ended {booking_id, vm_id}` on all of their connections.
enum BookingHandler {
    static func handler(inbox: NotificationRepository, redis: RedisClient) -> EventConsumer.Handler {
        { event, connection, logger in
            guard let userId = event.userId, let bookingId = event.data["booking_id"]?.stringValue else {
                logger.warning("booking event without the data it needs", metadata: ["event_id": "\(event.id)", "type": "\(event.type)"])
                return
            }
            let started = event.type == EventType.bookingStarted
            let vm = event.data["vm_id"]?.stringValue
            let service = event.data["service"]?.stringValue?.uppercased() ?? "Your booking"
            let title = started ? "\(service) has started" : "\(service) has ended"
            let body = vm.map { started ? "Your time on \($0) is running." : "Your time on \($0) is over." } ?? ""
            guard try await inbox.insert(
                userId: userId, kind: started ? "booking_started" : "booking_ended", title: title, body: body,
                sourceEventId: event.id, occurredAt: event.occurredAt, on: connection, logger: logger
            ) != nil else { return }  // written before: its frame went out then
            let frame = JSONValue.object([
                "type": .string(started ? "booking_started" : "booking_ended"), "booking_id": .string(bookingId),
                "vm_id": vm.map(JSONValue.string) ?? .null,
            ])
            try? await LiveConnections.publish(frame: frame.jsonText(), to: userId, redis: redis)
        }
    }
}
