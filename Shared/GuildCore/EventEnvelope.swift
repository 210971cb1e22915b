import Foundation

/// The envelope every domain event travels in, on the Redis channel and stream alike.
///
/// `{"id": "<uuid>", "type": "tickets.message_created", "occurred_at": "...", "user_id": "...", "data": {...}}`.
/// Consumers are idempotent on `id`.
public struct EventEnvelope: Sendable, Equatable {
    /// Unique id of the event; the key consumers deduplicate on.
    public var id: UUID
    /// Dotted type, `<service>.<what_happened>`.
    public var type: String
    /// When the change that caused it committed.
    public var occurredAt: Date
    /// The user the event is about, if any.
    public var userId: String?
    /// The payload, shaped by the event type.
    public var data: JSONValue

    /// Creates an envelope.
    public init(id: UUID = UUID(), type: String, occurredAt: Date = Date(), userId: String?, data: JSONValue) {
        self.id = id
        self.type = type
        self.occurredAt = occurredAt
        self.userId = userId
        self.data = data
    }
}

// MARK: - The text on the wire

extension EventEnvelope {
    /// The envelope as JSON text: keys in order, the id in lower case, the time to the second.
    public func json() throws -> String {
        var output: [UInt8] = []
        output.reserveCapacity(512)
        output.append(contentsOf: #"{"data":"#.utf8)
        data.write(to: &output)
        output.append(contentsOf: #","id":""#.utf8)
        output.append(contentsOf: id.uuidString.lowercased().utf8)
        output.append(contentsOf: #"","occurred_at":""#.utf8)
        // To the microsecond: a member's news is told in the order it happened, also within a second.
        output.append(contentsOf: RFC3339.formatMicroseconds(occurredAt).utf8)
        output.append(contentsOf: #"","type":"#.utf8)
        JSONValue.string(type).write(to: &output)
        output.append(contentsOf: #","user_id":"#.utf8)
        (userId.map(JSONValue.string) ?? .null).write(to: &output)
        output.append(UInt8(ascii: "}"))
        return String(decoding: output, as: UTF8.self)
    }

    /// Parses an envelope from JSON text.
    public static func parse(_ text: String) throws -> EventEnvelope {
        let value = try JSONValue(parsing: text)
        guard let idText = value["id"]?.stringValue, let id = UUID(uuidString: idText), let type = value["type"]?.stringValue,
            let time = value["occurred_at"]?.stringValue, let occurredAt = RFC3339.parse(time)
        else {
            throw JSONTextError(offset: 0, reason: "not an event envelope (id, type and occurred_at are required)")
        }
        return EventEnvelope(id: id, type: type, occurredAt: occurredAt, userId: value["user_id"]?.stringValue, data: value["data"] ?? .null)
    }
}

/// The event types services publish. Names are part of the contract.
public enum EventType {
    /// A user account was created (password or Discord).
    public static let userCreated = "auth.user_created"
    /// A session was revoked; auth replicas drop it from their verification cache.
    public static let sessionRevoked = "auth.session_revoked"
    /// A booking's time began; its VM is the user's now. Data: `booking_id`, `vm_id`, `service`, `start_time`, `end_time`.
    public static let bookingStarted = "booking.started"
    /// A booking's time ran out. Same data as ``bookingStarted``.
    public static let bookingEnded = "booking.ended"
    /// A booking was cancelled. Same data, with `hours_refunded` (null on the other two).
    public static let bookingCancelled = "booking.cancelled"
    /// A support ticket was opened. Data: `ticket_id`, `owner_id`, `subject`, `category` (``TicketOpened``).
    public static let ticketCreated = "tickets.created"
    /// A message was posted in a ticket. Data: `ticket_id`, `owner_id`, `by_staff`, `message`.
    public static let ticketMessageCreated = "tickets.message_created"
    /// A ticket was closed (by staff, its owner, or on time). Data: `ticket_id`, `owner_id`, `by` (null: closed on time).
    public static let ticketClosed = "tickets.closed"
    /// A closed ticket was opened again. Data: `ticket_id`, `owner_id`, `by`.
    public static let ticketReopened = "tickets.reopened"
    /// A staff member took a ticket. Data: `ticket_id`, `owner_id`, `by`.
    public static let ticketClaimed = "tickets.claimed"
    /// An admin deleted a ticket. Data: `ticket_id`, `owner_id`, `by`.
    public static let ticketDeleted = "tickets.deleted"
    /// The bot reported that a member joined the Discord server (auth's `POST /internal/events`).
    /// Data: `discord_id`, `metadata` (the bot's, as sent). Other reports are `discord.<event_type>` alike.
    public static let discordMemberJoined = "discord.member_joined"
    /// A member reached a higher level. Data: `discord_id`, `level`, `previous_level`, `tier` (the new level's tier name);
    /// `user_id` is null (leveling knows members by their Discord id only).
    public static let levelUp = "leveling.level_up"
    /// A member unlocked a tool (by level or an admin's unlock). Data: `discord_id`, `tool_id`, `tool_name`; `user_id` is null.
    public static let toolUnlocked = "leveling.tool_unlocked"
    /// An admin changed leveling's settings; every leveling replica reloads them. Data: `version`; `user_id` is the admin's.
    public static let levelingConfigChanged = "leveling.config_changed"
    /// An admin changed booking's settings (prices, refunds, limits); every booking replica reloads them.
    /// Data: `version`; `user_id` is the admin's.
    public static let bookingConfigChanged = "booking.config_changed"
}
