import Foundation
import GuildClients
import GuildCore
import GuildEvents
import GuildRedis
import GuildServiceKit
import Logging
import PostgresNIO

/// `leveling.level_up` and `leveling.tool_unlocked` → an inbox entry and a live frame for the
/// Guildhall account linked to the member's Discord id (leveling knows members by Discord id only).
///
/// A member with no linked account has no inbox: the event is passed over. When auth cannot be
/// asked the handler throws, so the consumer leaves the event pending and tries it again later.
enum LevelingHandler {
    static func handler(inbox: NotificationRepository, users: UserDirectory, redis: RedisClient) -> EventConsumer.Handler {
        { event, connection, logger in
            guard let news = LevelingNews(event) else {
                logger.warning("leveling event without the data it needs", metadata: ["event_id": "\(event.id)", "type": "\(event.type)"])
                return
            }
            guard let account = try await users.accountLinked(toDiscord: news.discordId) else {
                logger.debug("no account linked to the Discord member", metadata: ["event_id": "\(event.id)", "discord_id": "\(news.discordId)"])
                return
            }
            let userId = account.userId.uuidString.lowercased()
            guard try await inbox.insert(
                userId: userId, kind: news.kind, title: news.title, body: news.body,
                sourceEventId: event.id, occurredAt: event.occurredAt, on: connection, logger: logger
            ) != nil else { return }  // written before: its frame went out then
            // Live delivery is best effort: the inbox row above is the record.
            try? await LiveConnections.publish(frame: news.frame, to: userId, redis: redis)
        }
    }
}

/// What a leveling event tells the member: the inbox entry and the live frame.
struct LevelingNews: Equatable {
    /// The member, by Discord id.
    var discordId: String
    /// The inbox entry's kind: `level_up` or `tool_unlocked`.
    var kind: String
    var title: String
    var body: String
    /// `{"type":"level_up","level":12,"tier":"Advanced","previous_level":11}` or
    /// `{"type":"tool_unlocked","tool_id":"...","tool_name":"..."}`.
    var frame: String

    /// The news of `event`; nil when it is not a leveling event or lacks the data it needs.
    init?(_ event: EventEnvelope) {
        if let reached = try? event.payload(LevelReached.self) {
            discordId = reached.discordId
            kind = "level_up"
            title = "You reached level \(reached.level)"
            body = "\(reached.tier) tier"
            frame = ServerFrame.text(LevelUpFrame(level: reached.level, tier: reached.tier, previousLevel: reached.previousLevel))
        } else if let unlocked = try? event.payload(ToolUnlocked.self) {
            discordId = unlocked.discordId
            kind = "tool_unlocked"
            title = "Tool unlocked: \(unlocked.toolName)"
            body = "\(unlocked.toolName) is now available to you."
            frame = ServerFrame.text(ToolUnlockedFrame(toolId: unlocked.toolId, toolName: unlocked.toolName))
        } else {
            return nil
        }
    }
}

/// `{"type":"level_up","level":…,"tier":…,"previous_level":…}`.
struct LevelUpFrame: Encodable {
    var type = "level_up"
    var level: Int
    var tier: String
    var previousLevel: Int
}

/// `{"type":"tool_unlocked","tool_id":…,"tool_name":…}`.
struct ToolUnlockedFrame: Encodable {
    var type = "tool_unlocked"
    var toolId: String
    var toolName: String
}
