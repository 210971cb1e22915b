import Foundation
import GuildCore

/// One thing a member did, as the bot reports it, checked.
struct BotEvent: Sendable, Equatable {
    var eventId: String
    var discordId: String
    var source: XPRules.Source
    var minutes: Int?
    var channelId: String?
    var occurredAt: Date

    /// The body the bot sends.
    struct Body: Decodable, Sendable {
        var discordId: String
        var source: String
        var minutes: Int?
        var channelId: String?
        var occurredAt: Date
        var eventId: String
    }

    /// How far ahead of the clock an event may say it happened.
    static let allowedClockSkew: TimeInterval = 300
    /// How old an event may be (a bot catching up after an outage). The answers to events are
    /// kept a day longer (``RewardQueue/pruneBotEvents(logger:)``), so a late event is still
    /// judged against every rewarded one near it and a retry still gets its first answer.
    static let oldestAccepted: TimeInterval = 7 * 86_400

    /// Checks `body`; a refusal names the field, prefixed with `field` (`events[3].`) in a batch.
    init(_ body: Body, field prefix: String = "", now: Date = Date()) throws {
        func invalid(_ name: String, _ reason: String) -> APIError { .invalidField(prefix + name, reason) }
        guard (1...128).contains(body.eventId.count), body.eventId.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7F }) else {
            throw invalid("event_id", "must be 1 to 128 printable characters")
        }
        guard DiscordId.isValid(body.discordId) else { throw APIError.notADiscordId(prefix + "discord_id") }
        guard let source = XPRules.Source(rawValue: body.source) else { throw invalid("source", "must be message, voice or command") }
        if let minutes = body.minutes {
            guard (0...XPRules.maximumVoiceMinutes).contains(minutes) else {
                throw invalid("minutes", "must be 0 to \(XPRules.maximumVoiceMinutes)")
            }
        }
        if source == .voice, (body.minutes ?? 0) < 1 {
            throw invalid("minutes", "is required for voice: 1 to \(XPRules.maximumVoiceMinutes)")
        }
        if let channel = body.channelId, !DiscordId.isValid(channel) { throw APIError.notADiscordId(prefix + "channel_id") }
        guard body.occurredAt.timeIntervalSince(now) <= Self.allowedClockSkew else { throw invalid("occurred_at", "is in the future") }
        guard now.timeIntervalSince(body.occurredAt) <= Self.oldestAccepted else { throw invalid("occurred_at", "is more than 7 days ago") }
        self.eventId = body.eventId
        self.discordId = body.discordId
        self.source = source
        self.minutes = source == .voice ? body.minutes : nil
        self.channelId = body.channelId
        self.occurredAt = body.occurredAt
    }
}
