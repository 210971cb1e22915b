import Configuration
import GuildCore
import GuildServiceKit

/// The leveling service's own settings, on top of the common ones; every value has the default
/// the contract names.
struct LevelingSettings: Sendable {
    /// XP per source, cooldowns and the daily bonus (`LEVELING_XP_MESSAGE`, `LEVELING_XP_VOICE_PER_MINUTE`,
    /// `LEVELING_XP_COMMAND`, `LEVELING_XP_DAILY`, `LEVELING_XP_STREAK_BONUS`, `LEVELING_STREAK_CAP_DAYS`,
    /// `LEVELING_COOLDOWN_MESSAGE_SECONDS`, `LEVELING_COOLDOWN_COMMAND_SECONDS`): the first settings,
    /// until an admin changes them (`RuntimeSettings`).
    var rules: XPRules
    /// The level formula and tiers (`LEVELING_XP_PER_LEVEL_SQUARED`, `LEVELING_XP_PER_LEVEL`,
    /// `LEVELING_MAX_LEVEL`, `LEVELING_TIERS` as `Name:firstLevel,…`).
    var curve: LevelCurve
    /// Discord roles earned at levels (`LEVELING_ROLE_REWARDS`, `level:role_id,…`; none by default), likewise.
    var roleRewards: RoleRewards
    /// The bot's private listener for role updates (`BOT_INTERNAL_URL`); none: updates wait.
    var botURL: String?
    /// The longest wait between two attempts to reach the bot (`LEVELING_BOT_RETRY_MAX_MS`, default 60000).
    var botRetryCap: Duration
    /// How often the jobs look for work another replica left (`LEVELING_JOBS_INTERVAL_MS`, default 500).
    var jobsInterval: Duration

    init(reader: ConfigReader) throws {
        rules = XPRules(
            messageXP: try reader.int(forKey: "leveling.xp.message", default: 15, in: 0...10_000),
            voiceXPPerMinute: try reader.int(forKey: "leveling.xp.voice.per.minute", default: 10, in: 0...10_000),
            commandXP: try reader.int(forKey: "leveling.xp.command", default: 5, in: 0...10_000),
            dailyXP: try reader.int(forKey: "leveling.xp.daily", default: 50, in: 0...100_000),
            streakBonusXP: try reader.int(forKey: "leveling.xp.streak.bonus", default: 10, in: 0...100_000),
            streakCapDays: try reader.int(forKey: "leveling.streak.cap.days", default: 0, in: 0...3650),
            messageCooldown: try reader.int(forKey: "leveling.cooldown.message.seconds", default: 60, in: 0...86_400),
            commandCooldown: try reader.int(forKey: "leveling.cooldown.command.seconds", default: 30, in: 0...86_400)
        )
        curve = LevelCurve(
            quadratic: Int64(try reader.int(forKey: "leveling.xp.per.level.squared", default: 100, in: 0...1_000_000)),
            linear: Int64(try reader.int(forKey: "leveling.xp.per.level", default: 50, in: 0...1_000_000)),
            maximumLevel: try Self.maximumLevel(reader)
        )
        guard curve.quadratic + curve.linear > 0 else {
            throw ConfigurationError.invalid("LEVELING_XP_PER_LEVEL_SQUARED", "and LEVELING_XP_PER_LEVEL cannot both be 0")
        }
        if let text = reader.string(forKey: "leveling.tiers"), !text.isEmpty {
            guard let tiers = LevelCurve.parseTiers(text) else {
                throw ConfigurationError.invalid("LEVELING_TIERS", "expected Name:firstLevel pairs in rising order, such as Basic:1,Member:11")
            }
            curve.tiers = tiers
        }
        guard let rewards = RoleRewards.parse(reader.string(forKey: "leveling.role.rewards", default: ""), maximumLevel: curve.maximumLevel) else {
            throw ConfigurationError.invalid("LEVELING_ROLE_REWARDS", "expected level:role_id pairs, such as 10:112233445566778899")
        }
        roleRewards = rewards
        let bot = reader.string(forKey: "bot.internal.url", default: "")
        botURL = bot.isEmpty ? nil : bot
        botRetryCap = .milliseconds(try reader.int(forKey: "leveling.bot.retry.max.ms", default: 60_000, in: 100...3_600_000))
        jobsInterval = .milliseconds(try reader.int(forKey: "leveling.jobs.interval.ms", default: 500, in: 50...60_000))
    }

    /// The highest level (`LEVELING_MAX_LEVEL`, default 100): the end of the curve and of unlock levels.
    static func maximumLevel(_ reader: ConfigReader) throws -> Int {
        try reader.int(forKey: "leveling.max.level", default: 100, in: 1...1000)
    }
}
