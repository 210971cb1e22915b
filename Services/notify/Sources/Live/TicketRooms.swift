import Foundation
import GuildCore
import GuildEvents
import GuildRedis
import Logging
import Synchronization

/// Ticket rooms on this replica: which connections joined which ticket.
///
/// Frames for a room come from the tickets service's events, which every replica receives on the
/// events' pub/sub channels (published once per event by the outbox relay, which the committing
/// transaction wakes): each replica hands them to its own members. Who is in a room on any
/// replica is also kept in Redis (a sorted set per ticket, members expiring unless refreshed), so
/// the inbox knows whether a ticket's owner was there to see a reply when it was posted: a
/// member's score is when their presence ends — in the future while they are in the room, the
/// moment they left once they have.
final class TicketRooms: Sendable {
    struct Member: Hashable, Sendable {
        var userId: String
        var connection: UUID
    }

    private let members = Mutex<[UUID: Set<Member>]>([:])
    private let live: LiveConnections
    private let redis: RedisClient

    /// How long a presence entry lasts unless refreshed.
    static let presenceLifetime: Duration = .seconds(90)

    init(live: LiveConnections, redis: RedisClient) {
        self.live = live
        self.redis = redis
    }

    /// The events whose frames go to a ticket's room.
    static let eventTypes = [EventType.ticketMessageCreated, EventType.ticketClosed, EventType.ticketReopened, EventType.ticketClaimed]

    static func presenceKey(_ ticket: UUID) -> String { "guildhall:notify:room:\(ticket.uuidString.lowercased())" }

    func join(_ ticket: UUID, _ member: Member) async {
        members.withLock { _ = $0[ticket, default: []].insert(member) }
        await markPresent(ticket, member)
    }

    func leave(_ ticket: UUID, _ member: Member) async {
        let removed = members.withLock { members -> Bool in
            let removed = members[ticket]?.remove(member) != nil
            if members[ticket]?.isEmpty == true { members[ticket] = nil }
            return removed
        }
        guard removed else { return }
        // Kept with the time it left (a reply posted before then was seen), then purged.
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        _ = try? await redis.send(["ZADD", Self.presenceKey(ticket), String(now), Self.presenceMember(member)])
        _ = try? await redis.send(["ZREMRANGEBYSCORE", Self.presenceKey(ticket), "-inf", "(\(now - 600_000)"])
    }

    /// Leaves every room `connection` is in (it closed); returns the rooms it was in.
    func leaveAll(userId: String, connection: UUID) async {
        let member = Member(userId: userId, connection: connection)
        let rooms = members.withLock { members in members.compactMap { $0.value.contains(member) ? $0.key : nil } }
        for ticket in rooms { await leave(ticket, member) }
    }

    /// Hands an event of one of ``eventTypes`` to the connections in its room here.
    func deliver(_ event: EventEnvelope) {
        guard let (ticket, frame, messageId) = Self.frame(for: event) else { return }
        let targets = members.withLock { $0[ticket] ?? [] }
        for member in targets {
            live.send(.room(ticket: ticket, messageId: messageId, frame: frame), to: member.connection, of: member.userId)
        }
    }

    /// The room `event` is for, the frame the room gets and the message it carries.
    static func frame(for event: EventEnvelope) -> (ticket: UUID, frame: String, messageId: UUID?)? {
        if let posted = try? event.payload(TicketMessagePosted.self) {
            guard let text = try? GuildJSON.string(RoomFrame.NewMessage(ticketId: posted.ticketId, message: posted.message)) else { return nil }
            return (posted.ticketId, text, posted.message.id)
        }
        guard let change = try? event.payload(TicketChanged.self), let type = RoomFrame.Changed.types[event.type],
            let text = try? GuildJSON.string(RoomFrame.Changed(type: type, ticketId: change.ticketId, by: change.by))
        else { return nil }
        return (change.ticketId, text, nil)
    }

    // MARK: Presence

    static func presenceMember(_ member: Member) -> String { "\(member.userId)|\(member.connection.uuidString.lowercased())" }

    private func markPresent(_ ticket: UUID, _ member: Member) async {
        let until = Date().addingTimeInterval(Double(Self.presenceLifetime.components.seconds))
        let score = String(Int64(until.timeIntervalSince1970 * 1000))
        _ = try? await redis.send(["ZADD", Self.presenceKey(ticket), score, Self.presenceMember(member)])
        _ = try? await redis.send(["PEXPIRE", Self.presenceKey(ticket), String(Self.presenceLifetime.components.seconds * 1000)])
    }

    /// Refreshes the presence of every member here (run well within ``presenceLifetime``).
    func refreshPresence() async {
        let all = members.withLock { $0 }
        for (ticket, members) in all {
            for member in members { await markPresent(ticket, member) }
        }
    }

    /// Whether `userId` had a connection in `ticket`'s room on any replica at `time`.
    func wasPresent(_ userId: String, in ticket: UUID, at time: Date) async throws -> Bool {
        let at = String(Int64(time.timeIntervalSince1970 * 1000))
        let present = try await redis.send(["ZRANGEBYSCORE", Self.presenceKey(ticket), at, "+inf"])
        return present.elements.contains { $0.string?.hasPrefix("\(userId)|") == true }
    }
}

/// The frames of a ticket's room.
enum RoomFrame {
    /// `{"type":"new_message","ticket_id":…,"message":{…}}`.
    struct NewMessage: Codable, Equatable {
        var type = "new_message"
        var ticketId: UUID
        var message: TicketMessageData
    }

    /// `{"type":"ticket_closed","ticket_id":…,"by":…}` (or `ticket_reopened`, `ticket_claimed`).
    struct Changed: Codable, Equatable {
        /// The frame type of each event a room hears of.
        static let types = [
            EventType.ticketClosed: "ticket_closed", EventType.ticketReopened: "ticket_reopened", EventType.ticketClaimed: "ticket_claimed",
        ]
        var type: String
        var ticketId: UUID
        var by: UUID?
    }
}
