import Foundation
import GuildCore
import GuildEvents
import GuildRedis
import Logging
import PostgresNIO

/// `tickets.message_created` by staff → an inbox entry for the ticket's owner, unless the owner
/// has the ticket's room open somewhere (then they see the reply as it comes).
enum TicketReplyHandler {
    /// Only staff replies can reach an owner's inbox; the consumer passes over the rest.
    static func concerns(_ event: EventEnvelope) -> Bool {
        event.type == EventType.ticketMessageCreated && event.data["by_staff"] == .bool(true)
    }

    static func handler(inbox: NotificationRepository, redis: RedisClient, rooms: TicketRooms) -> EventConsumer.Handler {
        { event, connection, logger in
            guard concerns(event), let owner = event.data["owner_id"]?.stringValue,
                let ticket = event.data["ticket_id"]?.stringValue.flatMap(UUID.init(uuidString:))
            else { return }
            // Presence when the reply was posted (its id holds the millisecond), so an owner who saw
            // it live and left before this ran gets no entry. Presence unknown (Redis away): write
            // the entry; one too many beats one missed.
            let posted = event.data["message"]?["id"]?.stringValue.flatMap(UUID.init(uuidString:))?.timeOrderedDate ?? event.occurredAt
            if (try? await rooms.wasPresent(owner, in: ticket, at: posted)) == true { return }
            let author = event.data["message"]?["author_name"]?.stringValue ?? "Staff"
            let content = event.data["message"]?["content"]?.stringValue ?? ""
            let title = "\(author) replied to your ticket"
            let body = content.count > 200 ? String(content.prefix(199)) + "…" : content
            guard let id = try await inbox.insert(
                userId: owner, kind: "ticket_reply", title: title, body: body, sourceEventId: event.id, on: connection, logger: logger
            ) else { return }  // written before: its frame went out then
            let frame = ServerFrame.object(["type": "notification", "id": id.uuidString.lowercased(), "title": title, "body": body])
            try? await LiveConnections.publish(frame: frame, to: owner, redis: redis)
        }
    }
}
