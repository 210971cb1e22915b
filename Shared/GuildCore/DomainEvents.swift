import Foundation

/// The data of a domain event: one type for the producer and every consumer, written into the
/// envelope's `data` by the contract's JSON rules (``GuildJSON``) and read back from it.
public protocol DomainEvent: Codable, Sendable, Equatable {
    /// The event types (``EventType``) whose data this is; the first is the default.
    static var types: [String] { get }
}

extension EventEnvelope {
    /// An envelope carrying `event`, as `type` (by default the event's first type).
    public init<Event: DomainEvent>(_ event: Event, as type: String? = nil, id: UUID = UUID(), occurredAt: Date = Date(), userId: String?) throws {
        self.init(id: id, type: type ?? Event.types[0], occurredAt: occurredAt, userId: userId, data: try JSONValue(encoding: event))
    }

    /// The data as `Event`: nil when the envelope is of another type, an error when its data is
    /// not what the type promises.
    public func payload<Event: DomainEvent>(_: Event.Type) throws -> Event? {
        guard Event.types.contains(type) else { return nil }
        return try GuildJSON.decoder.decode(Event.self, from: Data(data.jsonText().utf8))
    }
}

// MARK: - settings

/// `leveling.config_changed`, `booking.config_changed`: an admin stored version `version` of the
/// service's settings.
public struct SettingsChanged: DomainEvent {
    public static let types = [EventType.levelingConfigChanged, EventType.bookingConfigChanged]
    public var version: Int64

    public init(version: Int64) {
        self.version = version
    }
}

// MARK: - auth

/// `auth.user_created`: an account was made (password or Discord).
public struct UserCreated: DomainEvent {
    public static let types = [EventType.userCreated]
    public var username: String
    public var role: String
    public var discordId: String?

    public init(username: String, role: String, discordId: String?) {
        self.username = username
        self.role = role
        self.discordId = discordId
    }
}

/// `discord.<event_type>`: what the bot reported about a member, its metadata as sent (the
/// envelope's type is `discord.` and the bot's event type; `discord.member_joined` is the one read).
public struct DiscordReport: DomainEvent {
    public static let types = [EventType.discordMemberJoined]
    public var discordId: String
    /// The bot's own details; their shape is the bot's.
    public var metadata: JSONValue

    public init(discordId: String, metadata: JSONValue) {
        self.discordId = discordId
        self.metadata = metadata
    }
}

// MARK: - booking

/// `booking.started`, `booking.ended`, `booking.cancelled`.
public struct BookingChanged: DomainEvent {
    public static let types = [EventType.bookingStarted, EventType.bookingEnded, EventType.bookingCancelled]
    public var bookingId: UUID
    public var vmId: String
    public var service: String
    public var startTime: Date
    public var endTime: Date
    /// Hours given back, on a cancellation.
    public var hoursRefunded: Int?

    public init(bookingId: UUID, vmId: String, service: String, startTime: Date, endTime: Date, hoursRefunded: Int?) {
        self.bookingId = bookingId
        self.vmId = vmId
        self.service = service
        self.startTime = startTime
        self.endTime = endTime
        self.hoursRefunded = hoursRefunded
    }
}

// MARK: - tickets

/// A ticket's message as events and live frames carry it (the same fields as the API's).
public struct TicketMessageData: Codable, Sendable, Equatable {
    public var id: UUID
    public var ticketId: UUID
    /// Nil for messages the desk writes itself (closing on time).
    public var authorId: UUID?
    public var authorName: String
    public var authorAvatar: String?
    public var content: String
    public var timestamp: Date
    /// Written by staff.
    public var isAdmin: Bool

    public init(id: UUID, ticketId: UUID, authorId: UUID?, authorName: String, authorAvatar: String?, content: String, timestamp: Date, isAdmin: Bool) {
        self.id = id
        self.ticketId = ticketId
        self.authorId = authorId
        self.authorName = authorName
        self.authorAvatar = authorAvatar
        self.content = content
        self.timestamp = timestamp
        self.isAdmin = isAdmin
    }
}

/// `tickets.created`: a ticket was opened.
public struct TicketOpened: DomainEvent {
    public static let types = [EventType.ticketCreated]
    public var ticketId: UUID
    public var ownerId: UUID
    public var subject: String
    public var category: String

    public init(ticketId: UUID, ownerId: UUID, subject: String, category: String) {
        self.ticketId = ticketId
        self.ownerId = ownerId
        self.subject = subject
        self.category = category
    }
}

/// `tickets.message_created`: a message was posted.
public struct TicketMessagePosted: DomainEvent {
    public static let types = [EventType.ticketMessageCreated]
    public var ticketId: UUID
    public var ownerId: UUID
    /// Written by staff: the owner hears of it.
    public var byStaff: Bool
    public var message: TicketMessageData

    public init(ticketId: UUID, ownerId: UUID, byStaff: Bool, message: TicketMessageData) {
        self.ticketId = ticketId
        self.ownerId = ownerId
        self.byStaff = byStaff
        self.message = message
    }
}

/// `tickets.closed`, `tickets.reopened`, `tickets.claimed`, `tickets.deleted`.
public struct TicketChanged: DomainEvent {
    public static let types = [EventType.ticketClosed, EventType.ticketReopened, EventType.ticketClaimed, EventType.ticketDeleted]
    public var ticketId: UUID
    public var ownerId: UUID
    /// Who changed it; nil when the desk closed it on time.
    public var by: UUID?
    /// `open` or `closed`, after the change.
    public var status: String

    public init(ticketId: UUID, ownerId: UUID, by: UUID?, status: String) {
        self.ticketId = ticketId
        self.ownerId = ownerId
        self.by = by
        self.status = status
    }
}

// MARK: - leveling

/// `leveling.level_up`: a member reached a higher level.
public struct LevelReached: DomainEvent {
    public static let types = [EventType.levelUp]
    public var discordId: String
    public var level: Int
    public var previousLevel: Int
    /// The new level's tier name.
    public var tier: String

    public init(discordId: String, level: Int, previousLevel: Int, tier: String) {
        self.discordId = discordId
        self.level = level
        self.previousLevel = previousLevel
        self.tier = tier
    }
}

/// `leveling.tool_unlocked`: a member unlocked a tool (by level or an admin's unlock).
public struct ToolUnlocked: DomainEvent {
    public static let types = [EventType.toolUnlocked]
    public var discordId: String
    public var toolId: String
    public var toolName: String

    public init(discordId: String, toolId: String, toolName: String) {
        self.discordId = discordId
        self.toolId = toolId
        self.toolName = toolName
    }
}
