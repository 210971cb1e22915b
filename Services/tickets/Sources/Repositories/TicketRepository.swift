import Foundation
import GuildCore
import GuildEvents
import GuildServiceKit
import Logging
import PostgresNIO

/// Who writes a message: the caller's id, the name and avatar auth knows them by, and whether
/// they are staff.
struct Author: Sendable {
    var id: UUID
    var name: String
    var avatar: String?
    var isStaff: Bool
}

/// A ticket's owner and state, for deciding who may do what.
struct TicketHead: Sendable {
    var id: UUID
    var ownerId: UUID
    var status: Ticket.Status
}

/// Tickets, their messages and read marks, and the desk's settings, in the `tickets` schema.
///
/// Races are settled in PostgreSQL: a state change is `UPDATE … WHERE status = …` on the
/// ticket's row (so of several staff closing at once exactly one succeeds), a message takes the
/// ticket's row lock while it checks that the ticket is open, the open-ticket limit is counted
/// under a per-user advisory lock, and a retried message meets the first one in a unique index.
struct TicketRepository: Sendable {
    let database: Database
    /// Publishes a message's event as soon as it commits, ahead of the relay.
    let events: EventPublisher

    // MARK: Settings

    func settings(logger: Logger) async throws -> DeskSettings {
        try await database.connection(logger: logger) { connection in try await Self.settings(on: connection, logger: logger) }
    }

    static func settings(on connection: PostgresConnection, logger: Logger) async throws -> DeskSettings {
        let rows = try await connection.query(
            "SELECT enabled, max_open_per_user, auto_close_hours, transcript_enabled, categories FROM settings",
            logger: logger
        )
        for try await (enabled, maxOpen, autoClose, transcripts, categories) in rows.decode((Bool, Int, Int, Bool, [String]).self) {
            return DeskSettings(enabled: enabled, maxOpenPerUser: maxOpen, autoCloseHours: autoClose, transcriptEnabled: transcripts, categories: categories)
        }
        throw APIError.unavailable("tickets settings")
    }

    func save(_ settings: DeskSettings, logger: Logger) async throws {
        try await database.connection(logger: logger) { connection in
            _ = try await connection.query(
                """
                UPDATE settings SET enabled = \(settings.enabled), max_open_per_user = \(settings.maxOpenPerUser),
                    auto_close_hours = \(settings.autoCloseHours), transcript_enabled = \(settings.transcriptEnabled),
                    categories = \(settings.categories)
                """,
                logger: logger
            )
        }
    }

    // MARK: Reading

    /// The columns of `tickets_seen_by` a ``Ticket`` shows (the newest message: its text and time).
    private static let ticketColumns = """
        ticket_id, user_id, user_name, subject, category, status, claimed_by, claimed_by_name, created_at, closed_at,
        last_content, last_at, unread_count
        """

    private typealias TicketRow = (UUID, UUID, String, String, String, String, UUID?, String?, Date, Date?, String?, Date?, Int)

    private static func tickets(_ rows: PostgresRowSequence) async throws -> [Ticket] {
        var tickets: [Ticket] = []
        for try await row in rows.decode(TicketRow.self) {
            tickets.append(
                Ticket(
                    ticketId: row.0, userId: row.1, userName: row.2, subject: row.3, category: row.4, status: Ticket.Status(rawValue: row.5) ?? .closed,
                    claimedBy: row.6, claimedByName: row.7, createdAt: row.8, closedAt: row.9, lastMessage: row.10, lastMessageAt: row.11,
                    unreadCount: row.12
                )
            )
        }
        return tickets
    }

    /// Tickets, newest first: everyone's for staff, the caller's own otherwise.
    func list(reader: Caller, status: Ticket.Status?, after cursor: UUID?, limit: Int, logger: Logger) async throws -> [Ticket] {
        let owner: UUID? = reader.isStaff ? nil : reader.userId
        let filter: PostgresQuery = """
            SELECT \(unescaped: Self.ticketColumns) FROM tickets_seen_by(\(reader.userId))
            WHERE (\(owner)::uuid IS NULL OR user_id = \(owner)) AND (\(status?.rawValue)::text IS NULL OR status = \(status?.rawValue))
              AND (\(cursor)::uuid IS NULL OR ticket_id < \(cursor))
            ORDER BY ticket_id DESC LIMIT \(limit)
            """
        return try await database.connection(logger: logger) { connection in
            try await Self.tickets(try await connection.query(filter, logger: logger))
        }
    }

    /// One ticket as `reader` sees it.
    func ticket(_ id: UUID, reader: UUID, logger: Logger) async throws -> Ticket? {
        try await database.connection(logger: logger) { connection in
            try await Self.ticket(id, reader: reader, on: connection, logger: logger)
        }
    }

    static func ticket(_ id: UUID, reader: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Ticket? {
        try await tickets(try await connection.query(
            "SELECT \(unescaped: ticketColumns) FROM tickets_seen_by(\(reader)) WHERE ticket_id = \(id)", logger: logger
        )).first
    }

    /// The owner and state of a ticket.
    func head(_ id: UUID, logger: Logger) async throws -> TicketHead? {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query("SELECT user_id, status FROM tickets WHERE id = \(id)", logger: logger)
            for try await (owner, status) in rows.decode((UUID, String).self) {
                return TicketHead(id: id, ownerId: owner, status: Ticket.Status(rawValue: status) ?? .closed)
            }
            return nil
        }
    }

    private static let messageColumns = "id, ticket_id, author_id, author_name, author_avatar, content, created_at, is_admin"

    private static func messages(_ rows: PostgresRowSequence) async throws -> [TicketMessage] {
        var messages: [TicketMessage] = []
        for try await (id, ticket, author, name, avatar, content, at, isAdmin) in rows.decode((UUID, UUID, UUID?, String, String?, String, Date, Bool).self) {
            messages.append(TicketMessage(id: id, ticketId: ticket, authorId: author, authorName: name, authorAvatar: avatar, content: content, timestamp: at, isAdmin: isAdmin))
        }
        return messages
    }

    /// Up to `limit` messages before `before` (the newest when nil), oldest first, and whether older ones exist.
    func messages(of id: UUID, before: UUID?, limit: Int, logger: Logger) async throws -> (messages: [TicketMessage], more: Bool) {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.messageColumns) FROM messages
                WHERE ticket_id = \(id) AND (\(before)::uuid IS NULL OR id < \(before))
                ORDER BY id DESC LIMIT \(limit + 1)
                """,
                logger: logger
            )
            let newestFirst = try await Self.messages(rows)
            return (Array(newestFirst.prefix(limit).reversed()), newestFirst.count > limit)
        }
    }

    /// Every message after `since` (all when nil), oldest first: a room's history and catch-up.
    func messages(of id: UUID, after since: UUID?, logger: Logger) async throws -> [TicketMessage] {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT \(unescaped: Self.messageColumns) FROM messages
                WHERE ticket_id = \(id) AND (\(since)::uuid IS NULL OR id > \(since))
                ORDER BY id
                """,
                logger: logger
            )
            return try await Self.messages(rows)
        }
    }

    // MARK: Writing

    /// Refuses a ticket more for `owner` past the desk's open-ticket limit. Counting takes a lock
    /// per user until the transaction ends, so two tickets opened (or reopened) at once cannot
    /// both pass the limit.
    private static func belowOpenLimit(_ owner: UUID, settings: DeskSettings, on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.query("SELECT pg_advisory_xact_lock(hashtext('tickets:open'), hashtext(\(owner.uuidString)))", logger: logger)
        let open = try await connection.query(
            "SELECT count(*)::int FROM tickets WHERE user_id = \(owner) AND status = 'open'", logger: logger
        ).decode(Int.self).first { _ in true } ?? 0
        guard open < settings.maxOpenPerUser else { throw APIError.tooManyOpenTickets(settings.maxOpenPerUser) }
    }

    /// Opens a ticket with its first message; refused past the open-ticket limit.
    func open(by author: Author, subject: String, category: String, message: String, logger: Logger) async throws -> Ticket {
        try await database.transaction(logger: logger) { connection in
            let settings = try await Self.settings(on: connection, logger: logger)
            guard settings.enabled else { throw APIError.ticketsDisabled }
            guard settings.categories.contains(category) else { throw APIError.unknownCategory(settings.categories) }
            try await Self.belowOpenLimit(author.id, settings: settings, on: connection, logger: logger)

            let id = UUID.timeOrdered()
            _ = try await connection.query(
                """
                INSERT INTO tickets (id, user_id, user_name, subject, category)
                VALUES (\(id), \(author.id), \(author.name), \(subject), \(category))
                """,
                logger: logger
            )
            let first = try await Self.insert(message, in: id, by: author, clientId: nil, on: connection, logger: logger)
            guard let ticket = try await Self.ticket(id, reader: author.id, on: connection, logger: logger) else { throw APIError.ticketNotFound }
            try await Outbox.write(try Self.event(EventType.ticketCreated, ticket: ticket, data: ["ticket": try JSONValue(encoding: ticket)]), on: connection, logger: logger)
            try await Self.announce(first, ownerId: author.id, byStaff: author.isStaff, on: connection, logger: logger)
            return ticket
        }
    }

    /// Posts `content` in `ticket` if it is open and `author` may write in it. With `clientId`, a
    /// retry (even a concurrent one) returns the first message instead of posting again;
    /// `replayed` says which happened. 404 when there is no such ticket or it is someone else's,
    /// 409 when it is closed.
    ///
    /// One statement does it all — the ticket's row lock (which orders the message against a
    /// concurrent close), the message, the author's read mark and the event — so a message
    /// costs one round trip to PostgreSQL; a retry's message meets the first one in the unique
    /// index (waiting for it to commit) and inserts nothing. The event is handed to the
    /// publisher once committed, so the room hears of it without waiting for the relay.
    func send(_ content: String, in ticket: UUID, by author: Author, clientId: String?, logger: Logger) async throws -> (message: TicketMessage, replayed: Bool) {
        let message = TicketMessage(
            id: UUID.timeOrdered(), ticketId: ticket, authorId: author.id, authorName: author.name, authorAvatar: author.avatar,
            content: content, timestamp: Date(), isAdmin: author.isStaff
        )
        // The owner is only known once the ticket's row is locked: the statement adds it to the data.
        var data: [String: JSONValue] = [
            "ticket_id": .string(ticket.uuidString.lowercased()),
            "by_staff": .bool(author.isStaff),
            "message": try JSONValue(encoding: message),
        ]
        let dataJSON = JSONValue.object(data).jsonText()
        let eventId = UUID()
        let (owner, posted) = try await database.connection(logger: logger) { connection -> (UUID?, UUID?) in
            let rows = try await connection.query(
                """
                WITH target AS (
                    UPDATE tickets SET last_activity_at = now()
                    WHERE id = \(ticket) AND status = 'open' AND (user_id = \(author.id) OR \(author.isStaff))
                    RETURNING id, user_id
                ), posted AS (
                    INSERT INTO messages (id, ticket_id, author_id, author_name, author_avatar, content, is_admin, client_message_id, created_at)
                    SELECT \(message.id), target.id, \(author.id), \(message.authorName), \(message.authorAvatar), \(content),
                           \(message.isAdmin), \(clientId), \(message.timestamp)
                    FROM target
                    ON CONFLICT (ticket_id, author_id, client_message_id) WHERE client_message_id IS NOT NULL DO NOTHING
                    RETURNING id
                ), mark AS (
                    INSERT INTO read_marks (ticket_id, reader_id, last_read_id) SELECT \(ticket), \(author.id), id FROM posted
                    ON CONFLICT (ticket_id, reader_id) DO UPDATE SET last_read_id = GREATEST(read_marks.last_read_id, EXCLUDED.last_read_id)
                ), event AS (
                    INSERT INTO outbox (id, type, occurred_at, user_id, data, relay_after)
                    SELECT \(eventId), \(EventType.ticketMessageCreated), \(message.timestamp), target.user_id::text,
                           \(dataJSON)::jsonb || jsonb_build_object('owner_id', target.user_id::text), \(unescaped: Outbox.relayAfterHandOver)
                    FROM posted, target
                )
                SELECT (SELECT user_id FROM target), (SELECT id FROM posted)
                """,
                logger: logger
            )
            for try await (owner, posted) in rows.decode((UUID?, UUID?).self) { return (owner, posted) }
            return (nil, nil)
        }
        if let owner, posted != nil {
            let ownerId = owner.uuidString.lowercased()
            data["owner_id"] = .string(ownerId)
            events.handOver([
                EventEnvelope(id: eventId, type: EventType.ticketMessageCreated, occurredAt: message.timestamp, userId: ownerId, data: .object(data))
            ])
            return (message, false)
        }
        // Nothing posted: a retry of a message posted before, or a ticket closed or not the author's.
        if let clientId, let earlier = try await earlier(clientId, in: ticket, by: author.id, logger: logger) { return (earlier, true) }
        guard let head = try await head(ticket, logger: logger), head.ownerId == author.id || author.isStaff else { throw APIError.ticketNotFound }
        guard owner != nil, head.status == .open else { throw APIError.ticketClosed }
        throw APIError.conflict("message_in_flight", "a message with this client_message_id is still being posted")
    }

    /// The message `author` already sent with `clientId`.
    func earlier(_ clientId: String, in ticket: UUID, by author: UUID, logger: Logger) async throws -> TicketMessage? {
        try await database.connection(logger: logger) { connection in
            try await Self.earlier(clientId, in: ticket, by: author, on: connection, logger: logger)
        }
    }

    private static func earlier(_ clientId: String, in ticket: UUID, by author: UUID, on connection: PostgresConnection, logger: Logger) async throws -> TicketMessage? {
        try await messages(
            try await connection.query(
                """
                SELECT \(unescaped: messageColumns) FROM messages
                WHERE ticket_id = \(ticket) AND author_id = \(author) AND client_message_id = \(clientId)
                """,
                logger: logger
            )
        ).first
    }

    private static func insert(
        _ content: String, in ticket: UUID, by author: Author?, clientId: String?, on connection: PostgresConnection, logger: Logger
    ) async throws -> TicketMessage {
        let message = TicketMessage(
            id: UUID.timeOrdered(), ticketId: ticket, authorId: author?.id, authorName: author?.name ?? "System",
            authorAvatar: author?.avatar, content: content, timestamp: Date(), isAdmin: author?.isStaff ?? false
        )
        _ = try await connection.query(
            """
            INSERT INTO messages (id, ticket_id, author_id, author_name, author_avatar, content, is_admin, client_message_id, created_at)
            VALUES (\(message.id), \(ticket), \(message.authorId), \(message.authorName), \(message.authorAvatar), \(content),
                    \(message.isAdmin), \(clientId), \(message.timestamp))
            """,
            logger: logger
        )
        if let author {
            // Whoever writes has read everything up to their own message.
            try await markRead(ticket, reader: author.id, upTo: message.id, on: connection, logger: logger)
        }
        return message
    }

    private static func announce(_ message: TicketMessage, ownerId: UUID, byStaff: Bool, on connection: PostgresConnection, logger: Logger) async throws {
        let data: [String: JSONValue] = [
            "ticket_id": .string(message.ticketId.uuidString.lowercased()),
            "owner_id": .string(ownerId.uuidString.lowercased()),
            "by_staff": .bool(byStaff),
            "message": try JSONValue(encoding: message),
        ]
        try await Outbox.write(
            EventEnvelope(type: EventType.ticketMessageCreated, userId: ownerId.uuidString.lowercased(), data: .object(data)), on: connection, logger: logger
        )
    }

    /// A state change: `from` → `to`, by `by`; nil when the ticket is not in `from` (someone else was first).
    /// With `limitOf`, the change counts against that user's open-ticket limit (an owner reopening
    /// their own ticket may not go past it, as opening one may not).
    func change(
        _ id: UUID, from: Ticket.Status, to: Ticket.Status, by: Author, event: String, limitOf owner: UUID? = nil, logger: Logger
    ) async throws -> Ticket? {
        try await database.transaction(logger: logger) { connection in
            if let owner {
                try await Self.belowOpenLimit(owner, settings: try await Self.settings(on: connection, logger: logger), on: connection, logger: logger)
            }
            let changed = try await connection.query(
                """
                UPDATE tickets SET status = \(to.rawValue), last_activity_at = now(),
                    closed_at = CASE WHEN \(to.rawValue) = 'closed' THEN now() END
                WHERE id = \(id) AND status = \(from.rawValue) RETURNING id
                """,
                logger: logger
            ).decode(UUID.self).first { _ in true }
            guard changed != nil, let ticket = try await Self.ticket(id, reader: by.id, on: connection, logger: logger) else { return nil }
            try await Outbox.write(try Self.event(event, ticket: ticket, by: by.id), on: connection, logger: logger)
            return ticket
        }
    }

    /// Assigns an open ticket to `staff`; nil when it is not open.
    func claim(_ id: UUID, by staff: Author, logger: Logger) async throws -> Ticket? {
        try await database.transaction(logger: logger) { connection in
            let claimed = try await connection.query(
                "UPDATE tickets SET claimed_by = \(staff.id), claimed_by_name = \(staff.name) WHERE id = \(id) AND status = 'open' RETURNING id",
                logger: logger
            ).decode(UUID.self).first { _ in true }
            guard claimed != nil, let ticket = try await Self.ticket(id, reader: staff.id, on: connection, logger: logger) else { return nil }
            try await Outbox.write(try Self.event(EventType.ticketClaimed, ticket: ticket, by: staff.id), on: connection, logger: logger)
            return ticket
        }
    }

    /// Marks everything in the ticket read for `reader`.
    func markRead(_ id: UUID, reader: UUID, logger: Logger) async throws {
        try await database.transaction(logger: logger) { connection in
            let newest = try await connection.query(
                "SELECT id FROM messages WHERE ticket_id = \(id) ORDER BY id DESC LIMIT 1", logger: logger
            ).decode(UUID.self).first { _ in true }
            if let newest { try await Self.markRead(id, reader: reader, upTo: newest, on: connection, logger: logger) }
        }
    }

    private static func markRead(_ ticket: UUID, reader: UUID, upTo message: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.query(
            """
            INSERT INTO read_marks (ticket_id, reader_id, last_read_id) VALUES (\(ticket), \(reader), \(message))
            ON CONFLICT (ticket_id, reader_id) DO UPDATE SET last_read_id = GREATEST(read_marks.last_read_id, EXCLUDED.last_read_id)
            """,
            logger: logger
        )
    }

    /// Deletes a ticket with its messages; false when there was none.
    func delete(_ id: UUID, by admin: UUID, logger: Logger) async throws -> Bool {
        try await database.transaction(logger: logger) { connection in
            guard let ticket = try await Self.ticket(id, reader: admin, on: connection, logger: logger) else { return false }
            _ = try await connection.query("DELETE FROM tickets WHERE id = \(id)", logger: logger)
            try await Outbox.write(try Self.event(EventType.ticketDeleted, ticket: ticket, by: admin), on: connection, logger: logger)
            return true
        }
    }

    // MARK: Closing on time

    /// Closes open tickets idle for longer than the settings allow, each once whichever replica
    /// gets there first, with a closing message and `tickets.closed`. Returns how many it closed.
    func closeIdle(logger: Logger) async throws -> Int {
        try await database.transaction(logger: logger) { connection in
            let settings = try await Self.settings(on: connection, logger: logger)
            guard settings.autoCloseHours > 0 else { return 0 }
            var due: [UUID] = []
            let rows = try await connection.query(
                """
                UPDATE tickets SET status = 'closed', closed_at = now(), last_activity_at = now()
                WHERE id IN (
                    SELECT id FROM tickets WHERE status = 'open' AND last_activity_at < now() - make_interval(hours => \(settings.autoCloseHours)::int)
                    ORDER BY last_activity_at LIMIT 100 FOR UPDATE SKIP LOCKED
                )
                RETURNING id
                """,
                logger: logger
            )
            for try await id in rows.decode(UUID.self) { due.append(id) }
            for id in due {
                let note = "Closed after \(settings.autoCloseHours) hours without a message. Reopen it if you still need help."
                _ = try await Self.insert(note, in: id, by: nil, clientId: nil, on: connection, logger: logger)
                guard let ticket = try await Self.ticket(id, reader: UUID(), on: connection, logger: logger) else { continue }
                try await Outbox.write(try Self.event(EventType.ticketClosed, ticket: ticket, by: nil), on: connection, logger: logger)
            }
            return due.count
        }
    }

    // MARK: Events

    private static func event(_ type: String, ticket: Ticket, by: UUID?) throws -> EventEnvelope {
        try event(type, ticket: ticket, data: ["by": by.map { .string($0.uuidString.lowercased()) } ?? .null, "status": .string(ticket.status.rawValue)])
    }

    private static func event(_ type: String, ticket: Ticket, data: [String: JSONValue]) throws -> EventEnvelope {
        var data = data
        data["ticket_id"] = .string(ticket.ticketId.uuidString.lowercased())
        data["owner_id"] = .string(ticket.userId.uuidString.lowercased())
        return EventEnvelope(type: type, userId: ticket.userId.uuidString.lowercased(), data: .object(data))
    }
}
