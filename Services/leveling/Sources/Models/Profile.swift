import Foundation
import GuildCore
import Hummingbird

/// A member's standing: what `me`, `users/{discord_id}` and the daily claim answer.
struct Profile: ResponseEncodable, Sendable {
    var discordId: String
    var xp: Int64
    var level: Int
    var tier: String
    /// 1 + the number of members with more XP (members with equal XP share a rank).
    var rank: Int
    /// XP gained since reaching `level`.
    var xpIntoLevel: Int64
    /// The XP `level` spans up to the next one; null at the top level.
    var xpForNextLevel: Int64?
    /// Consecutive days with a daily claim, up to the last one.
    var streak: Int
    /// The UTC day of the last daily claim.
    var lastDailyAt: Date?

    init(row: ProfileRow, rank: Int, curve: LevelCurve) {
        let progress = curve.progress(for: row.xp)
        discordId = row.discordId
        xp = row.xp
        level = progress.level
        tier = curve.tier(of: progress.level)
        self.rank = rank
        xpIntoLevel = progress.intoLevel
        xpForNextLevel = progress.forNextLevel
        streak = row.streak
        lastDailyAt = row.dailyClaimedOn?.start
    }
}

/// A member's row as stored.
struct ProfileRow: Sendable, Equatable {
    var discordId: String
    var xp: Int64
    var level: Int
    var streak: Int
    var dailyClaimedOn: DailyDate?
}

/// One line of the leaderboard.
struct LeaderboardEntry: Codable, Sendable, Equatable {
    var rank: Int
    var discordId: String
    var xp: Int64
    var level: Int
    var tier: String
}

/// One change of a member's XP.
struct HistoryEntry: Codable, Sendable {
    var id: Int64
    var amount: Int64
    var totalAfter: Int64
    /// `message`, `voice`, `command`, `daily`, `admin`, `level_set` or `reset`.
    var source: String
    var reason: String?
    var adminId: UUID?
    var eventId: String?
    var channelId: String?
    var occurredAt: Date
}

/// A tool of the catalogue: what the API answers and what a catalogue file (`guildctl tools`) holds.
public struct Tool: ResponseCodable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var description: String
    public var unlockLevel: Int
    /// False once retired: no longer in the catalogue nor unlocked, kept for those who unlocked it.
    public var active: Bool

    public init(id: String, name: String, description: String, unlockLevel: Int, active: Bool) {
        self.id = id
        self.name = name
        self.description = description
        self.unlockLevel = unlockLevel
        self.active = active
    }

    enum CodingKeys: String, CodingKey {
        case id, name, description, unlockLevel, active
    }

    /// `description` may be left out (empty) and `active` too (true), as when a tool is created.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            id: try container.decode(String.self, forKey: .id),
            name: try container.decode(String.self, forKey: .name),
            description: try container.decodeIfPresent(String.self, forKey: .description) ?? "",
            unlockLevel: try container.decode(Int.self, forKey: .unlockLevel),
            active: try container.decodeIfPresent(Bool.self, forKey: .active) ?? true
        )
    }
}

/// A tool as one member has it.
struct MemberTool: Codable, Sendable {
    var id: String
    var name: String
    var description: String
    var unlockLevel: Int
    /// False for a retired tool (listed only for members who unlocked it).
    var active: Bool
    var unlocked: Bool
    var unlockedAt: Date?
}
