import Foundation
import GuildClients
import GuildConcurrency
import GuildCore
import GuildPostgres
import GuildServiceKit
import Logging
import PostgresNIO
import ServiceLifecycle

/// Sends the queued ``BotMessages`` to the bot, the oldest of each user first: a message the bot
/// does not take is tried again after 1 s, 2 s, 4 s … (with jitter) up to `retryCap`, for as long as it takes,
/// and holds back that user's later ones. A user with no Discord id linked (asked of auth when
/// the message is due) is passed over. One replica sends at a time (a session advisory lock).
struct BotMessageSender: Service {
    let database: Database
    let bot: BotClient
    let users: UserDirectory
    let interval: Duration
    let retryCap: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await pollForWork(every: interval, logger: logger, waiting: "bot messages wait for the database") { try await sendDue() > 0 }
        }
    }

    /// The messages waiting for the bot, oldest first per user.
    var queue: DurableQueue {
        DurableQueue(
            database: database, table: .init(name: "bot_messages", key: "user_id", settledColumn: "settled_at", order: "occurred_at, id", outcomeColumn: "outcome"),
            lockName: "notify:bot_messages", gaugeName: "notify_messages", backoff: Backoff(initial: .seconds(1), cap: retryCap, jitter: true)
        )
    }

    /// Sends what is due; returns how many were settled.
    func sendDue() async throws -> Int {
        let first = DurableQueue.payloadIndex
        return try await queue.workRound(logger: logger, columns: "user_id, kind, title, body") { row in
            (try row[first].decode(String.self), try row[first + 1].decode(String.self), try row[first + 2].decode(String.self), try row[first + 3].decode(String.self))
        } _: { [bot, users] item in
            let (user, kind, title, body) = item.payload
            do {
                guard let id = UUID(uuidString: user), let discordId = try await users.account(id).discordId else { return .settled(outcome: "no_discord_id") }
                let notice = BotClient.Notice(discordId: discordId, action: kind, metadata: .object(["title": .string(title), "message": .string(body)]))
                try await bot.notify(notice, idempotencyKey: "notify-message-\(item.id)")
                return .settled(outcome: "delivered")
            } catch {
                // The bot (or auth) is away: the others would fail the same way.
                return .failed(error, stopRound: true)
            }
        } ?? 0
    }
}
