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
        reply(in: event) != nil
    }

    /// The staff reply `event` carries; nil for any other event.
    static func reply(in event: EventEnvelope) -> TicketMessagePosted? {
        guard let posted = try? event.payload(TicketMessagePosted.self), posted.byStaff else { return nil }
        return posted
    }

    static func handler(inbox: NotificationRepository, redis: RedisClient, rooms: TicketRooms) -> EventConsumer.Handler {
        { event, connection, logger in
            guard let reply = reply(in: event) else { return }
            let owner = reply.ownerId.uuidString.lowercased()
            // Presence when the reply was posted (its id holds the millisecond), so an owner who saw
            // it live and left before this ran gets no entry. Presence unknown (Redis away): write
            // the entry; one too many beats one missed.
            let posted = reply.message.id.timeOrderedDate ?? event.occurredAt
            if (try? await rooms.wasPresent(owner, in: reply.ticketId, at: posted)) == true { return }
            let content = reply.message.content
            let title = "\(reply.message.authorName) replied to your ticket"
            let body = content.count > 200 ? String(content.prefix(199)) + "…" : content
            guard let id = try await inbox.insert(
                userId: owner, kind: "ticket_reply", title: title, body: body, sourceEventId: event.id, on: connection, logger: logger
            ) else { return }  // written before: its frame went out then
            let frame = ServerFrame.text(ServerFrame.Notification(id: id, title: title, body: body))
            try? await LiveConnections.publish(frame: frame, to: owner, redis: redis)
        }
    }
}
