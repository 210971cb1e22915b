import Foundation
import GuildServiceKit
import Hummingbird
import Logging
import PostgresNIO

/// One entry of a user's inbox.
struct Notification: ResponseCodable, Equatable {
    var id: UUID
    var kind: String
    var title: String
    var body: String
    var read: Bool
    var createdAt: Date
}

/// The inbox on PostgreSQL (the `notify` schema).
struct NotificationRepository: Sendable {
    let database: Database

    /// Up to `limit` of `userId`'s notifications, newest first, after `cursor` (the last id of
    /// the previous page), and how many of all of them are unread.
    func page(userId: String, limit: Int, after cursor: UUID?, logger: Logger) async throws -> (items: [Notification], unread: Int) {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT id, kind, title, body, read_at IS NOT NULL, created_at FROM notifications
                WHERE user_id = \(userId)
                  AND (\(cursor)::uuid IS NULL OR (created_at, id) < (SELECT created_at, id FROM notifications WHERE id = \(cursor) AND user_id = \(userId)))
                ORDER BY created_at DESC, id DESC LIMIT \(limit)
                """,
                logger: logger
            )
            var items: [Notification] = []
            for try await (id, kind, title, body, read, createdAt) in rows.decode((UUID, String, String, String, Bool, Date).self) {
                items.append(Notification(id: id, kind: kind, title: title, body: body, read: read, createdAt: createdAt))
            }
            var unread = 0
            for try await count in try await connection.query(
                "SELECT count(*)::int FROM notifications WHERE user_id = \(userId) AND read_at IS NULL",
                logger: logger
            ).decode(Int.self) {
                unread = count
            }
            return (items, unread)
        }
    }

    /// Adds a notification inside the caller's transaction (event handlers); one per source event.
    static func insert(
        userId: String, kind: String, title: String, body: String, sourceEventId: UUID,
        on connection: PostgresConnection, logger: Logger
    ) async throws -> UUID {
        let id = UUID()
        try await connection.query(
            """
            INSERT INTO notifications (id, user_id, kind, title, body, source_event_id)
            VALUES (\(id), \(userId), \(kind), \(title), \(body), \(sourceEventId))
            """,
            logger: logger
        )
        return id
    }
}
