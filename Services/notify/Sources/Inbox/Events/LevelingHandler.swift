import Foundation
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
            guard let discordId = event.data["discord_id"]?.stringValue, let news = LevelingNews(event) else {
                logger.warning("leveling event without the data it needs", metadata: ["event_id": "\(event.id)", "type": "\(event.type)"])
                return
            }
            guard let account = try await users.accountLinked(toDiscord: discordId) else {
                logger.debug("no account linked to the Discord member", metadata: ["event_id": "\(event.id)", "discord_id": "\(discordId)"])
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
    /// The inbox entry's kind: `level_up` or `tool_unlocked`.
    var kind: String
    var title: String
    var body: String
    /// `{"type":"level_up","level":12,"tier":"Advanced","previous_level":11}` or
    /// `{"type":"tool_unlocked","tool_id":"...","tool_name":"..."}`.
    var frame: String

    /// The news of `event`; nil when it is not a leveling event or lacks the data it needs.
    init?(_ event: EventEnvelope) {
        switch event.type {
        case EventType.levelUp:
            guard let level = Self.int(event.data["level"]) else { return nil }
            let tier = event.data["tier"]?.stringValue
            let previous = Self.int(event.data["previous_level"])
            kind = "level_up"
            title = "You reached level \(level)"
            body = tier.map { "\($0) tier" } ?? "Keep it up!"
            frame = JSONValue.object([
                "type": .string("level_up"), "level": .number(Double(level)),
                "tier": tier.map(JSONValue.string) ?? .null, "previous_level": previous.map { .number(Double($0)) } ?? .null,
            ]).jsonText()
        case EventType.toolUnlocked:
            guard let toolId = event.data["tool_id"]?.stringValue else { return nil }
            let name = event.data["tool_name"]?.stringValue ?? toolId
            kind = "tool_unlocked"
            title = "Tool unlocked: \(name)"
            body = "\(name) is now available to you."
            frame = JSONValue.object(["type": .string("tool_unlocked"), "tool_id": .string(toolId), "tool_name": .string(name)]).jsonText()
        default:
            return nil
        }
    }

    /// A whole number in the event data.
    private static func int(_ value: JSONValue?) -> Int? {
        guard case .number(let number)? = value, number.rounded() == number, abs(number) < 1e9 else { return nil }
        return Int(number)
    }
}
