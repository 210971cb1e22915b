import Foundation
import GuildCore
import GuildPostgres
import GuildServiceKit
import Hummingbird
import Logging
import PostgresNIO

/// One entry of a user's inbox: a notification of their own, or a broadcast.
struct Notification: ResponseCodable, Equatable {
    var id: UUID
    var kind: String
    var title: String
    var body: String
    var read: Bool
    var createdAt: Date
    /// A broadcast's priority (`low`, `normal`, `high`); null for a user's own notifications.
    var priority: String?
}

/// A message from the admins to everyone.
struct Broadcast: ResponseCodable, Equatable {
    var id: UUID
    var title: String
    var message: String
    var priority: String
    var createdAt: Date
}

/// The inbox on PostgreSQL (the `notify` schema).
///
/// A user's own notifications are rows of theirs; a broadcast is one row that every inbox shows
/// (those of the last 30 days), read per user through a read mark of the single broadcast or
/// the moment the user last read everything (the SQL function `inbox_of`).
///
/// Every entry written also goes, in the same transaction, to the user's phones (``PushQueue``)
/// and to Discord (``BotMessages``) as the settings say.
struct NotificationRepository: Sendable {
    let database: Database
    /// Pushes to queue with each entry.
    let push: PushQueue
    /// Bot messages to queue with each entry.
    let bot: BotMessages

    /// Up to `limit` of `userId`'s inbox (``inbox_of``), newest first, after `cursor` (the last
    /// id of the previous page), and how many entries of the whole inbox are unread: one call of
    /// `inbox_page`, whose plans PostgreSQL keeps per connection.
    func page(userId: String, limit: Int, after cursor: UUID?, logger: Logger) async throws -> (items: [Notification], unread: Int) {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                "SELECT unread, id, kind, title, body, read, created_at, priority FROM inbox_page(\(userId), \(cursor)::uuid, \(limit)::int)",
                logger: logger
            )
            var items: [Notification] = []
            var unread = 0
            for try await (count, id, kind, title, body, read, createdAt, priority)
                in rows.decode((Int, UUID?, String?, String?, String?, Bool?, Date?, String?).self)
            {
                unread = count
                guard let id, let kind, let title, let body, let read, let createdAt else { continue }
                items.append(Notification(id: id, kind: kind, title: title, body: body, read: read, createdAt: createdAt, priority: priority))
            }
            return (items, unread)
        }
    }

    /// How many entries of the inbox are unread.
    static func unread(_ userId: String, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let rows = try await connection.query("SELECT count(*)::int FROM inbox_of(\(userId)) WHERE NOT read", logger: logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    /// Marks one entry read for `userId`; false when the inbox has no such entry. Returns the unread count after.
    func markRead(_ id: UUID, userId: String, logger: Logger) async throws -> Int? {
        try await database.transaction(logger: logger) { connection in
            let own = try await connection.query(
                "UPDATE notifications SET read_at = coalesce(read_at, now()) WHERE id = \(id) AND user_id = \(userId) RETURNING 1", logger: logger
            )
            if try await own.decode(Int.self).first(where: { _ in true }) == nil {
                let broadcast = try await connection.query(
                    """
                    INSERT INTO broadcast_reads (user_id, broadcast_id)
                    SELECT \(userId), id FROM broadcasts
                    WHERE id = \(id) AND created_at > now() - interval '30 days'
                    ON CONFLICT DO NOTHING
                    RETURNING 1
                    """,
                    logger: logger
                )
                let known = try await broadcast.decode(Int.self).first(where: { _ in true }) != nil
                if !known {
                    // Read before: still the user's (a broadcast read earlier has its mark).
                    let earlier = try await connection.query(
                        "SELECT 1 FROM broadcast_reads WHERE user_id = \(userId) AND broadcast_id = \(id)", logger: logger
                    )
                    guard try await earlier.decode(Int.self).first(where: { _ in true }) != nil else { return nil }
                }
            }
            return try await Self.unread(userId, on: connection, logger: logger)
        }
    }

    /// Marks the whole inbox of `userId` read.
    func markAllRead(userId: String, logger: Logger) async throws {
        try await database.transaction(logger: logger) { connection in
            try await connection.query("UPDATE notifications SET read_at = now() WHERE user_id = \(userId) AND read_at IS NULL", logger: logger)
            try await connection.query(
                """
                INSERT INTO inbox_marks (user_id, read_all_at) VALUES (\(userId), now())
                ON CONFLICT (user_id) DO UPDATE SET read_all_at = now()
                """,
                logger: logger
            )
        }
    }

    /// Stores a broadcast (in the caller's transaction), and when push is on, its push to come.
    func insert(_ broadcast: Broadcast, by admin: UUID, on connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query(
            """
            INSERT INTO broadcasts (id, title, message, priority, created_by, created_at)
            VALUES (\(broadcast.id), \(broadcast.title), \(broadcast.message), \(broadcast.priority), \(admin), \(broadcast.createdAt))
            """,
            logger: logger
        )
        if push.isEnabled {
            try await connection.query("INSERT INTO broadcast_pushes (broadcast_id) VALUES (\(broadcast.id))", logger: logger)
        }
    }

    /// Queues the push of one pending broadcast for the next `batch` users with a device;
    /// returns how many users it queued (0: nothing pending).
    static func pushNextBatch(_ database: Database, batch: Int = 500, logger: Logger) async throws -> Int {
        try await database.transaction(logger: logger) { connection in
            let pending = try await connection.query(
                """
                SELECT p.broadcast_id, p.next_user, b.title, b.message, b.priority FROM broadcast_pushes p
                JOIN broadcasts b ON b.id = p.broadcast_id
                WHERE p.finished_at IS NULL ORDER BY p.broadcast_id LIMIT 1 FOR UPDATE OF p SKIP LOCKED
                """,
                logger: logger
            )
            guard let (id, after, title, message, priority) = try await pending.decode((UUID, String, String, String, String).self).first(where: { _ in true })
            else { return 0 }
            let data = JSONValue.object(["broadcast_id": .string(id.uuidString.lowercased()), "priority": .string(priority)])
            let queued = try await connection.query(
                """
                INSERT INTO push_jobs (user_id, kind, title, body, data)
                SELECT user_id, 'broadcast', \(String(title.prefix(PushQueue.titleLimit))), \(String(message.prefix(PushQueue.bodyLimit))),
                       \(data.jsonText())::jsonb
                FROM (SELECT DISTINCT user_id FROM push_tokens WHERE user_id > \(after) ORDER BY user_id LIMIT \(batch)) AS users
                RETURNING user_id
                """,
                logger: logger
            )
            var last = after
            var count = 0
            for try await user in queued.decode(String.self) {
                count += 1
                last = max(last, user)
            }
            try await connection.query(
                """
                UPDATE broadcast_pushes SET next_user = \(last), finished_at = CASE WHEN \(count) < \(batch) THEN now() END
                WHERE broadcast_id = \(id)
                """,
                logger: logger
            )
            return max(count, 1)
        }
    }

    /// Adds a notification inside the caller's transaction (event handlers), with its push to the
    /// user's devices; one per source event: a repeat of `sourceEventId` adds nothing and returns nil.
    @discardableResult
    func insert(
        userId: String, kind: String, title: String, body: String, sourceEventId: UUID, occurredAt: Date = Date(),
        on connection: PostgresConnection, logger: Logger
    ) async throws -> UUID? {
        let id = UUID.timeOrdered()
        let rows = try await connection.query(
            """
            INSERT INTO notifications (id, user_id, kind, title, body, source_event_id)
            VALUES (\(id), \(userId), \(kind), \(title), \(body), \(sourceEventId))
            ON CONFLICT (source_event_id) DO NOTHING
            RETURNING id
            """,
            logger: logger
        )
        guard let written = try await rows.decode(UUID.self).first(where: { _ in true }) else { return nil }
        // The user's phones hear of it too, if and only if the entry commits.
        try await push.enqueue(
            userId: userId, kind: kind, title: title, body: body, data: ["notification_id": written.uuidString.lowercased()],
            on: connection, logger: logger
        )
        // And Discord, through the bot, for the kinds configured to reach it.
        try await bot.enqueue(userId: userId, kind: kind, title: title, body: body, occurredAt: occurredAt, on: connection, logger: logger)
        return written
    }
}
