import Foundation
import GuildCore
import GuildEvents
import GuildPostgres
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

    // MARK: Reading

    /// The columns of `tickets_seen_by` a ``Ticket`` shows (the newest message: its text and time).
    static let ticketColumns = """
        ticket_id, user_id, user_name, subject, category, status, claimed_by, claimed_by_name, created_at, closed_at,
        last_content, last_at, unread_count
        """

    static func tickets(_ rows: PostgresRowSequence) async throws -> [Ticket] {
        var tickets: [Ticket] = []
        let columns = (UUID, UUID, String, String, String, String, UUID?, String?, Date, Date?, String?, Date?, Int).self
        for try await (id, owner, ownerName, subject, category, status, claimedBy, claimedByName, createdAt, closedAt, lastMessage, lastMessageAt, unread)
            in rows.decode(columns)
        {
            tickets.append(
                Ticket(
                    ticketId: id, userId: owner, userName: ownerName, subject: subject, category: category,
                    status: Ticket.Status(rawValue: status) ?? .closed, claimedBy: claimedBy, claimedByName: claimedByName,
                    createdAt: createdAt, closedAt: closedAt, lastMessage: lastMessage, lastMessageAt: lastMessageAt, unreadCount: unread
                )
            )
        }
        return tickets
    }

    /// Tickets, newest first: everyone's for staff, the caller's own otherwise.
    func list(reader: Caller, status: Ticket.Status?, category: String?, after cursor: UUID?, limit: Int, logger: Logger) async throws -> [Ticket] {
        let owner = TicketRules.Access.visibleOwner(reader: reader.userId, isStaff: reader.isStaff)
        let filter: PostgresQuery = """
            SELECT \(unescaped: Self.ticketColumns) FROM tickets_seen_by(\(reader.userId))
            WHERE (\(owner)::uuid IS NULL OR user_id = \(owner)) AND (\(status?.rawValue)::text IS NULL OR status = \(status?.rawValue))
              AND (\(category)::text IS NULL OR category = \(category))
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

    static let messageColumns = "id, ticket_id, author_id, author_name, author_avatar, content, created_at, is_admin"

    static func messages(_ rows: PostgresRowSequence) async throws -> [TicketMessage] {
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
    static func belowOpenLimit(_ owner: UUID, settings: DeskSettings, on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.query("SELECT pg_advisory_xact_lock(hashtext('tickets:open'), hashtext(\(owner.uuidString)))", logger: logger)
        let open = try await connection.query(
            "SELECT count(*)::int FROM tickets WHERE user_id = \(owner) AND status = 'open'", logger: logger
        ).decode(Int.self).first { _ in true } ?? 0
        guard open < settings.maxOpenPerUser else { throw TicketFailure.tooManyOpen(limit: settings.maxOpenPerUser) }
    }

    /// Opens a ticket with its first message; refused past the open-ticket limit.
    func open(by author: Author, subject: String, category: String, message: String, logger: Logger) async throws -> Ticket {
        try await database.transaction(logger: logger) { connection in
            let settings = try await Self.settings(on: connection, logger: logger)
            guard settings.enabled else { throw TicketFailure.disabled }
            guard settings.categories.contains(category) else { throw TicketFailure.unknownCategory(settings.categories) }
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
            guard let ticket = try await Self.ticket(id, reader: author.id, on: connection, logger: logger) else { throw TicketFailure.notFound }
            let opened = TicketOpened(ticketId: ticket.ticketId, ownerId: ticket.userId, subject: ticket.subject, category: ticket.category)
            try await Outbox.write(try EventEnvelope(opened, userId: ticket.userId.uuidString.lowercased()), on: connection, logger: logger)
            try await Self.announce(first, ownerId: author.id, byStaff: author.isStaff, on: connection, logger: logger)
            return ticket
        }
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
                    closed_at = CASE WHEN \(to.rawValue) = 'closed' THEN now() END,
                    closed_by = CASE WHEN \(to.rawValue) = 'closed' AND \(by.isStaff)::boolean THEN \(by.id)::uuid END
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

    /// Deletes a ticket with its messages; false when there was none.
    func delete(_ id: UUID, by admin: UUID, logger: Logger) async throws -> Bool {
        try await database.transaction(logger: logger) { connection in
            guard let ticket = try await Self.ticket(id, reader: admin, on: connection, logger: logger) else { return false }
            _ = try await connection.query("DELETE FROM tickets WHERE id = \(id)", logger: logger)
            try await Outbox.write(try Self.event(EventType.ticketDeleted, ticket: ticket, by: admin), on: connection, logger: logger)
            return true
        }
    }

    // MARK: Events

    static func event(_ type: String, ticket: Ticket, by: UUID?) throws -> EventEnvelope {
        let change = TicketChanged(ticketId: ticket.ticketId, ownerId: ticket.userId, by: by, status: ticket.status.rawValue)
        return try EventEnvelope(change, as: type, userId: ticket.userId.uuidString.lowercased())
    }
}
