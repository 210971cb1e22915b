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
            guard let userId = event.userId, let booking = try? event.payload(BookingChanged.self) else {
                logger.warning("booking event without the data it needs", metadata: ["event_id": "\(event.id)", "type": "\(event.type)"])
                return
            }
            let started = event.type == EventType.bookingStarted
            let service = booking.service.uppercased()
            let title = started ? "\(service) has started" : "\(service) has ended"
            let body = started ? "Your time on \(booking.vmId) is running." : "Your time on \(booking.vmId) is over."
            guard try await inbox.insert(
                userId: userId, kind: started ? "booking_started" : "booking_ended", title: title, body: body,
                sourceEventId: event.id, occurredAt: event.occurredAt, on: connection, logger: logger
            ) != nil else { return }  // written before: its frame went out then
            let frame = BookingFrame(type: started ? "booking_started" : "booking_ended", bookingId: booking.bookingId, vmId: booking.vmId)
            try? await LiveConnections.publish(frame: ServerFrame.text(frame), to: userId, redis: redis)
        }
    }
}

/// `{"type":"booking_started","booking_id":…,"vm_id":…}` (or `booking_ended`).
struct BookingFrame: Encodable {
    var type: String
    var bookingId: UUID
    var vmId: String
}
