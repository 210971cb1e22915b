import Foundation
import Logging
import PostgresNIO

/// Inbox entries the bot also tells members on Discord (`POST /internal/notify` on the bot): the
/// kinds `NOTIFY_BOT_KINDS` names, queued in `bot_messages` in the transaction that writes the
/// entry, and sent by ``BotMessageSender``. Without `BOT_INTERNAL_URL` nothing is queued.
struct BotMessages: Sendable {
    /// The kinds that reach Discord; empty (nothing queued) without a bot.
    let kinds: Set<String>

    /// Queues `kind`'s entry for the bot when that kind reaches Discord (call it in the entry's transaction).
    /// `occurredAt` is when what it tells of happened: a member hears of things in that order, whichever
    /// replica's consumer wrote the entry first.
    func enqueue(
        userId: String, kind: String, title: String, body: String, occurredAt: Date, on connection: PostgresConnection, logger: Logger
    ) async throws {
        guard kinds.contains(kind) else { return }
        try await connection.query(
            """
            INSERT INTO bot_messages (user_id, kind, title, body, occurred_at)
            VALUES (\(userId), \(kind), \(title), \(body), \(occurredAt))
            """,
            logger: logger
        )
    }
}
