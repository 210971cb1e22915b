import Configuration
import GuildCore
import GuildServiceKit

/// The leveling service's own settings, on top of the common ones; every value has the default
/// the contract names.
struct LevelingSettings: Sendable {
    /// XP per source, cooldowns and the daily bonus (`LEVELING_XP_MESSAGE`, `LEVELING_XP_VOICE_PER_MINUTE`,
    /// `LEVELING_XP_COMMAND`, `LEVELING_XP_DAILY`, `LEVELING_XP_STREAK_BONUS`, `LEVELING_COOLDOWN_MESSAGE_SECONDS`,
    /// `LEVELING_COOLDOWN_COMMAND_SECONDS`).
    var rules: XPRules
    /// The level formula and tiers (`LEVELING_XP_PER_LEVEL_SQUARED`, `LEVELING_XP_PER_LEVEL`,
    /// `LEVELING_MAX_LEVEL`, `LEVELING_TIERS` as `Name:firstLevel,…`).
    var curve: LevelCurve
    /// Discord roles earned at levels (`LEVELING_ROLE_REWARDS`, `level:role_id,…`; none by default).
    var roleRewards: RoleRewards
    /// The bot's private listener for role updates (`BOT_INTERNAL_URL`); none: updates wait.
    var botURL: String?
    /// The longest wait between two attempts to reach the bot (`LEVELING_BOT_RETRY_MAX_MS`, default 60000).
    var botRetryCap: Duration
    /// How often the jobs look for work another replica left (`LEVELING_JOBS_INTERVAL_MS`, default 500).
    var jobsInterval: Duration

    init(reader: ConfigReader) throws {
        func number(_ key: ConfigKey, _ name: String, default value: Int, _ range: ClosedRange<Int>) throws -> Int {
            let found = reader.int(forKey: key, default: value)
            guard range.contains(found) else { throw ConfigurationError.invalid(name, "must be \(range.lowerBound) to \(range.upperBound)") }
            return found
        }
        rules = XPRules(
            messageXP: try number("leveling.xp.message", "LEVELING_XP_MESSAGE", default: 15, 0...10_000),
            voiceXPPerMinute: try number("leveling.xp.voice.per.minute", "LEVELING_XP_VOICE_PER_MINUTE", default: 10, 0...10_000),
            commandXP: try number("leveling.xp.command", "LEVELING_XP_COMMAND", default: 5, 0...10_000),
            dailyXP: try number("leveling.xp.daily", "LEVELING_XP_DAILY", default: 50, 0...100_000),
            streakBonusXP: try number("leveling.xp.streak.bonus", "LEVELING_XP_STREAK_BONUS", default: 10, 0...100_000),
            messageCooldown: try number("leveling.cooldown.message.seconds", "LEVELING_COOLDOWN_MESSAGE_SECONDS", default: 60, 0...86_400),
            commandCooldown: try number("leveling.cooldown.command.seconds", "LEVELING_COOLDOWN_COMMAND_SECONDS", default: 30, 0...86_400)
        )
        curve = LevelCurve(
            quadratic: Int64(try number("leveling.xp.per.level.squared", "LEVELING_XP_PER_LEVEL_SQUARED", default: 100, 0...1_000_000)),
            linear: Int64(try number("leveling.xp.per.level", "LEVELING_XP_PER_LEVEL", default: 50, 0...1_000_000)),
            maximumLevel: try number("leveling.max.level", "LEVELING_MAX_LEVEL", default: 100, 1...1000)
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
        botRetryCap = .milliseconds(try number("leveling.bot.retry.max.ms", "LEVELING_BOT_RETRY_MAX_MS", default: 60_000, 100...3_600_000))
        jobsInterval = .milliseconds(try number("leveling.jobs.interval.ms", "LEVELING_JOBS_INTERVAL_MS", default: 500, 50...60_000))
    }
}
