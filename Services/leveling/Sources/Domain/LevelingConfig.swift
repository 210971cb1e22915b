import Foundation
import GuildCore
import Hummingbird

/// What admins change while leveling runs (`GET/PUT /api/leveling/config`): the XP each source
/// earns and its cooldown, the daily bonus, and the Discord roles levels grant and take. The
/// environment's values are the first ones, until an admin's change is stored.
struct LevelingConfig: ResponseCodable, Sendable, Equatable {
    /// XP a message or a command earns, at most once per `cooldown_seconds`.
    struct Rewarded: Codable, Sendable, Equatable {
        var xp: Int
        var cooldownSeconds: Int
    }

    /// XP per minute in voice (voice has no cooldown: the bot reports the minutes).
    struct Voice: Codable, Sendable, Equatable {
        var xpPerMinute: Int
    }

    /// The bot's sources of XP.
    struct Sources: Codable, Sendable, Equatable {
        var message: Rewarded
        var command: Rewarded
        var voice: Voice
    }

    /// The daily claim: `xp`, plus `streak_bonus` for each consecutive day before today, counting
    /// at most `streak_cap_days` of them (0: every one).
    struct Daily: Codable, Sendable, Equatable {
        var xp: Int
        var streakBonus: Int
        var streakCapDays: Int
    }

    /// What reaching `level` does to a member's Discord roles.
    struct RoleReward: Codable, Sendable, Equatable {
        var level: Int
        var addRoles: [String]
        var removeRoles: [String]
    }

    var sources: Sources
    var daily: Daily
    /// By level, lowest first.
    var roleRewards: [RoleReward]

    /// The settings `rules` and `rewards` stand for.
    init(rules: XPRules, rewards: RoleRewards) {
        sources = Sources(
            message: Rewarded(xp: rules.messageXP, cooldownSeconds: rules.messageCooldown),
            command: Rewarded(xp: rules.commandXP, cooldownSeconds: rules.commandCooldown),
            voice: Voice(xpPerMinute: rules.voiceXPPerMinute)
        )
        daily = Daily(xp: rules.dailyXP, streakBonus: rules.streakBonusXP, streakCapDays: rules.streakCapDays)
        roleRewards = rewards.byLevel.sorted { $0.key < $1.key }.map { RoleReward(level: $0.key, addRoles: $0.value.add, removeRoles: $0.value.remove) }
    }

    /// The rules events and claims are judged by.
    var rules: XPRules {
        XPRules(
            messageXP: sources.message.xp, voiceXPPerMinute: sources.voice.xpPerMinute, commandXP: sources.command.xp, dailyXP: daily.xp,
            streakBonusXP: daily.streakBonus, streakCapDays: daily.streakCapDays,
            messageCooldown: sources.message.cooldownSeconds, commandCooldown: sources.command.cooldownSeconds
        )
    }

    /// The role rewards level changes are given.
    var rewards: RoleRewards {
        RoleRewards(byLevel: Dictionary(uniqueKeysWithValues: roleRewards.map { ($0.level, RoleRewards.Step(add: $0.addRoles, remove: $0.removeRoles)) }))
    }

    // MARK: Checks

    /// The most XP one source, or the daily bonus, may be set to earn.
    static let xpLimit = 100_000
    /// The longest cooldown: a day.
    static let cooldownLimit = 86_400
    /// The most levels with role rewards, and roles one level may add or remove.
    static let rewardLimit = 100

    /// This configuration with the role rewards sorted by level, or a 400 naming the first field
    /// out of range (`sources.message.xp`, `role_rewards[2].add_roles[0]` …).
    func checked(maximumLevel: Int) throws -> LevelingConfig {
        func check(_ value: Int, _ field: String, _ range: ClosedRange<Int>) throws {
            guard range.contains(value) else { throw APIError.invalidField(field, "must be \(range.lowerBound) to \(range.upperBound)") }
        }
        try check(sources.message.xp, "sources.message.xp", 0...Self.xpLimit)
        try check(sources.message.cooldownSeconds, "sources.message.cooldown_seconds", 0...Self.cooldownLimit)
        try check(sources.command.xp, "sources.command.xp", 0...Self.xpLimit)
        try check(sources.command.cooldownSeconds, "sources.command.cooldown_seconds", 0...Self.cooldownLimit)
        try check(sources.voice.xpPerMinute, "sources.voice.xp_per_minute", 0...Self.xpLimit)
        try check(daily.xp, "daily.xp", 0...Self.xpLimit)
        try check(daily.streakBonus, "daily.streak_bonus", 0...Self.xpLimit)
        try check(daily.streakCapDays, "daily.streak_cap_days", 0...3650)
        guard roleRewards.count <= Self.rewardLimit else {
            throw APIError.invalidField("role_rewards", "must have at most \(Self.rewardLimit) levels")
        }
        var levels = Set<Int>()
        for (index, reward) in roleRewards.enumerated() {
            let field = "role_rewards[\(index)]"
            try check(reward.level, "\(field).level", 1...maximumLevel)
            guard levels.insert(reward.level).inserted else { throw APIError.invalidField("\(field).level", "is given twice") }
            for (name, roles) in [("add_roles", reward.addRoles), ("remove_roles", reward.removeRoles)] {
                guard roles.count <= Self.rewardLimit else { throw APIError.invalidField("\(field).\(name)", "must have at most \(Self.rewardLimit) roles") }
                if let bad = roles.firstIndex(where: { !DiscordId.isValid($0) }) {
                    throw APIError.invalidField("\(field).\(name)[\(bad)]", "is not a Discord role id")
                }
            }
            if let both = reward.addRoles.first(where: reward.removeRoles.contains) {
                throw APIError.invalidField("\(field).remove_roles", "\(both) is added at the same level")
            }
        }
        var sorted = self
        sorted.roleRewards.sort { $0.level < $1.level }
        return sorted
    }
}
