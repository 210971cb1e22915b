import Foundation

/// What the bot's events and the daily claim are worth: pure rules, the environment's at first
/// and then the admins' (``LevelingConfig``).
struct XPRules: Sendable, Equatable {
    /// Where XP comes from on the bot's side.
    enum Source: String, Sendable, CaseIterable {
        case message, voice, command
    }

    /// XP for a message (once per ``messageCooldown``).
    var messageXP = 15
    /// XP per minute in voice.
    var voiceXPPerMinute = 10
    /// XP for a command (once per ``commandCooldown``).
    var commandXP = 5
    /// The daily bonus.
    var dailyXP = 50
    /// Added to the daily bonus for each consecutive day before today.
    var streakBonusXP = 10
    /// The most consecutive days before today the streak bonus counts (0: every one).
    var streakCapDays = 0
    /// Seconds between rewarded messages of one member.
    var messageCooldown = 60
    /// Seconds between rewarded commands of one member.
    var commandCooldown = 30
    /// The most voice minutes one event may report.
    static let maximumVoiceMinutes = 60

    /// The XP an event of `source` is worth before its cooldown is considered.
    func amount(for source: Source, minutes: Int?) -> Int {
        switch source {
        case .message: messageXP
        case .command: commandXP
        case .voice: voiceXPPerMinute * (minutes ?? 0)
        }
    }

    /// The seconds within which a second rewarded event of `source` earns nothing (0: none).
    func cooldown(for source: Source) -> Int {
        switch source {
        case .message: messageCooldown
        case .command: commandCooldown
        case .voice: 0
        }
    }

    /// A daily claim on `today` (a UTC day) after the last one on `lastClaim` with `streak`
    /// consecutive days: nil when today's is claimed already, otherwise the new streak and the XP.
    func dailyClaim(today: DailyDate, lastClaim: DailyDate?, streak: Int) -> (streak: Int, xp: Int)? {
        if lastClaim == today { return nil }
        let newStreak = lastClaim == today.previous ? streak + 1 : 1
        let bonusDays = streakCapDays > 0 ? min(newStreak - 1, streakCapDays) : newStreak - 1
        return (newStreak, dailyXP + streakBonusXP * bonusDays)
    }
}

/// A calendar day in UTC, as PostgreSQL's `date` holds it.
struct DailyDate: Sendable, Equatable, Comparable {
    /// Days since 1970-01-01.
    var daysSinceEpoch: Int

    init(daysSinceEpoch: Int) { self.daysSinceEpoch = daysSinceEpoch }

    /// The UTC day of `date`.
    init(_ date: Date) { self.daysSinceEpoch = Int((date.timeIntervalSince1970 / 86_400).rounded(.down)) }

    var previous: DailyDate { DailyDate(daysSinceEpoch: daysSinceEpoch - 1) }
    /// Midnight UTC at its start.
    var start: Date { Date(timeIntervalSince1970: Double(daysSinceEpoch) * 86_400) }

    static func < (lhs: DailyDate, rhs: DailyDate) -> Bool { lhs.daysSinceEpoch < rhs.daysSinceEpoch }
}
