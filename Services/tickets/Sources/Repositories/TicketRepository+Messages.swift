import Foundation
import GuildCore
import GuildEvents
import GuildPostgres
import Logging
import PostgresNIO

/// Messages: posting (once per `client_message_id`), the desk's own notes, and read marks.
extension TicketRepository {
    /// Posts `content` in `ticket` if it is open and `author` may write in it. With `clientId`, a
    /// retry (even a concurrent one) returns the first message instead of posting again;
    /// `replayed` says which happened. 404 when there is no such ticket or it is someone else's,
    /// 409 when it is closed.
    ///
    /// One statement does it all — the ticket's row lock (which orders the message against a
    /// concurrent close), the message, the author's read mark and the event (through the outbox's `outbox_write`) — so a message
    /// costs one round trip to PostgreSQL; a retry's message meets the first one in the unique
    /// index (waiting for it to commit) and inserts nothing. The event is handed to the
    /// publisher once committed, so the room hears of it without waiting for the relay.
    func send(_ content: String, in ticket: UUID, by author: Author, clientId: String?, logger: Logger) async throws -> (message: TicketMessage, replayed: Bool) {
        let message = TicketMessage(
            id: UUID.timeOrdered(), ticketId: ticket, authorId: author.id, authorName: author.name, authorAvatar: author.avatar,
            content: content, timestamp: Date(), isAdmin: author.isStaff
        )
        // The owner is only known once the ticket's row is locked: the statement puts it in the data.
        var posting = TicketMessagePosted(ticketId: ticket, ownerId: author.id, byStaff: author.isStaff, message: message)
        let dataJSON = try GuildJSON.string(posting)
        let eventId = UUID()
        let visibleOwner = TicketRules.Access.visibleOwner(reader: author.id, isStaff: author.isStaff)
        let (owner, posted) = try await database.connection(logger: logger) { connection -> (UUID?, UUID?) in
            let rows = try await connection.query(
                """
                WITH target AS (
                    UPDATE tickets SET last_activity_at = now()
                    WHERE id = \(ticket) AND status = 'open' AND (\(visibleOwner)::uuid IS NULL OR user_id = \(visibleOwner))
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
                    SELECT outbox_write(
                        \(eventId), \(EventType.ticketMessageCreated), \(message.timestamp), target.user_id::text,
                        \(dataJSON)::jsonb || jsonb_build_object('owner_id', target.user_id::text), \(Outbox.handOverSeconds)
                    )
                    FROM posted, target
                )
                SELECT (SELECT user_id FROM target), (SELECT id FROM posted), (SELECT count(*) FROM event)
                """,
                logger: logger
            )
            // The event's count is read so that its CTE runs (PostgreSQL skips a SELECT no one reads).
            for try await (owner, posted, _) in rows.decode((UUID?, UUID?, Int64).self) { return (owner, posted) }
            return (nil, nil)
        }
        if let owner, posted != nil {
            posting.ownerId = owner
            events.handOver([try EventEnvelope(posting, id: eventId, occurredAt: message.timestamp, userId: owner.uuidString.lowercased())])
            return (message, false)
        }
        // Nothing posted: a retry of a message posted before, or a ticket closed or not the author's.
        if let clientId, let earlier = try await earlier(clientId, in: ticket, by: author.id, logger: logger) { return (earlier, true) }
        guard let head = try await head(ticket, logger: logger), TicketRules.Access(owner: head.ownerId, reader: author.id, isStaff: author.isStaff).canTakePart
        else { throw TicketFailure.notFound }
        guard owner != nil, head.status == .open else { throw TicketFailure.closed }
        throw TicketFailure.messageInFlight
    }

    /// The message `author` already sent with `clientId`.
    func earlier(_ clientId: String, in ticket: UUID, by author: UUID, logger: Logger) async throws -> TicketMessage? {
        try await database.connection(logger: logger) { connection in
            try await Self.earlier(clientId, in: ticket, by: author, on: connection, logger: logger)
        }
    }

    static func earlier(_ clientId: String, in ticket: UUID, by author: UUID, on connection: PostgresConnection, logger: Logger) async throws -> TicketMessage? {
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

    static func insert(
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

    static func announce(_ message: TicketMessage, ownerId: UUID, byStaff: Bool, on connection: PostgresConnection, logger: Logger) async throws {
        let posted = TicketMessagePosted(ticketId: message.ticketId, ownerId: ownerId, byStaff: byStaff, message: message)
        try await Outbox.write(try EventEnvelope(posted, userId: ownerId.uuidString.lowercased()), on: connection, logger: logger)
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

    static func markRead(_ ticket: UUID, reader: UUID, upTo message: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.query(
            """
            INSERT INTO read_marks (ticket_id, reader_id, last_read_id) VALUES (\(ticket), \(reader), \(message))
            ON CONFLICT (ticket_id, reader_id) DO UPDATE SET last_read_id = GREATEST(read_marks.last_read_id, EXCLUDED.last_read_id)
            """,
            logger: logger
        )
    }
}
