import Foundation
import GuildCore
import GuildServiceKit
import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle

/// Sends the queued ``BotMessages`` to the bot, the oldest of each user first: a message the bot
/// does not take is tried again after 1 s, 2 s, 4 s … up to `retryCap`, for as long as it takes,
/// and holds back that user's later ones. A user with no Discord id linked (asked of auth when
/// the message is due) is passed over. One replica sends at a time (a session advisory lock).
struct BotMessageSender: Service {
    let database: Database
    let bot: BotClient
    let users: UserDirectory
    let interval: Duration
    let retryCap: Duration
    let logger: Logger
    private let depth = Gauge(label: "bot_queue_depth", dimensions: [("queue", "notify_messages")])

    init(database: Database, bot: BotClient, users: UserDirectory, interval: Duration, retryCap: Duration, logger: Logger) {
        self.database = database
        self.bot = bot
        self.users = users
        self.interval = interval
        self.retryCap = retryCap
        self.logger = logger
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await pollForWork(every: interval, logger: logger, waiting: "bot messages wait for the database") { try await sendDue() > 0 }
        }
    }

    private struct Due {
        var id: Int64
        var userId: String
        var kind: String
        var title: String
        var body: String
        var attempts: Int
    }

    /// Sends what is due; returns how many were settled.
    func sendDue() async throws -> Int {
        try await database.withSessionLock("notify:bot_messages", logger: logger) { connection in
            try await send(on: connection)
        } ?? 0
    }

    private func send(on connection: PostgresConnection) async throws -> Int {
        let pending = try await connection.query("SELECT count(*)::int FROM bot_messages WHERE settled_at IS NULL", logger: logger)
        depth.record(try await pending.decode(Int.self).first(where: { _ in true }) ?? 0)
        let rows = try await connection.query(
            """
            SELECT DISTINCT ON (user_id) id, user_id, kind, title, body, attempts, next_attempt_at <= now()
            FROM bot_messages WHERE settled_at IS NULL ORDER BY user_id, occurred_at, id LIMIT 100
            """,
            logger: logger
        )
        var due: [Due] = []
        for try await (id, user, kind, title, body, attempts, isDue) in rows.decode((Int64, String, String, String, String, Int, Bool).self) where isDue {
            due.append(Due(id: id, userId: user, kind: kind, title: title, body: body, attempts: attempts))
        }
        var settled = 0
        for message in due.sorted(by: { $0.id < $1.id }) {
            do {
                guard let id = UUID(uuidString: message.userId), let discordId = try await users.account(id).discordId else {
                    try await settle(message.id, outcome: "no_discord_id", on: connection)
                    settled += 1
                    continue
                }
                let notice = BotClient.Notice(
                    discordId: discordId, action: message.kind, metadata: .object(["title": .string(message.title), "message": .string(message.body)])
                )
                try await bot.notify(notice, idempotencyKey: "notify-message-\(message.id)")
                try await settle(message.id, outcome: "delivered", on: connection)
                settled += 1
            } catch {
                let wait = BotClient.retryDelay(afterFailure: message.attempts + 1, cap: retryCap)
                let seconds = Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18
                try await connection.query(
                    """
                    UPDATE bot_messages SET attempts = attempts + 1, last_error = \(String(String(describing: error).prefix(500))),
                        next_attempt_at = now() + make_interval(secs => \(seconds))
                    WHERE id = \(message.id)
                    """,
                    logger: logger
                )
                logger.info("bot message not delivered; trying again later", metadata: ["user_id": "\(message.userId)", "retry_in": "\(wait)", "error": "\(error)"])
                // The bot (or auth) is away: the others would fail the same way.
                break
            }
        }
        return settled
    }

    private func settle(_ id: Int64, outcome: String, on connection: PostgresConnection) async throws {
        try await connection.query(
            "UPDATE bot_messages SET settled_at = now(), outcome = \(outcome), attempts = attempts + 1 WHERE id = \(id)", logger: logger
        )
    }
}
