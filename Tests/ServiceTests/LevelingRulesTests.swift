import Foundation
import GuildCore
@testable import LevelingService
import GuildTestSupport
import Testing

/// The leveling service's pure rules: the level curve at its boundaries, tiers, cooldown amounts,
/// the daily streak, role rewards and the bot's event checks.
@Suite("leveling: the level curve, tiers, daily streaks, role rewards, event checks", .watched)
struct LevelingRulesTests {
    let curve = LevelCurve()

    @Test func levelsFollowTheCumulativeFormulaAtTheirBoundaries() {
        #expect(curve.requirement(for: 1) == 150)
        #expect(curve.requirement(for: 2) == 500)
        #expect(curve.requirement(for: 10) == 10_500)
        #expect(curve.level(for: 0) == 0)
        #expect(curve.level(for: 149) == 0)
        #expect(curve.level(for: 150) == 1)
        #expect(curve.level(for: 499) == 1)
        #expect(curve.level(for: 500) == 2)
        #expect(curve.level(for: 1_005_000) == 100)
        #expect(curve.level(for: Int64.max / 4) == 100, "the table ends at the top level")
        let progress = curve.progress(for: 600)
        #expect(progress.level == 2 && progress.intoLevel == 100 && progress.forNextLevel == 550)
        #expect(curve.progress(for: 2_000_000).forNextLevel == nil)
        #expect(curve.thresholds.count == 100 && curve.thresholds.first == 150)
    }

    @Test func tiersCoverTheirLevels() {
        #expect(curve.tier(of: 0) == "Basic")
        #expect(curve.tier(of: 10) == "Basic")
        #expect(curve.tier(of: 11) == "Member")
        #expect(curve.tier(of: 26) == "Advanced")
        #expect(curve.tier(of: 75) == "Elite")
        #expect(curve.tier(of: 100) == "Master")
        #expect(LevelCurve.parseTiers("A:1,B:5") == [.init(name: "A", firstLevel: 1), .init(name: "B", firstLevel: 5)])
        #expect(LevelCurve.parseTiers("A:5,B:1") == nil)
        #expect(LevelCurve.parseTiers("A") == nil)
    }

    @Test func theDailyStreakGrowsOnConsecutiveDaysAndResetsAfterAMissedOne() {
        let rules = XPRules()
        let day = DailyDate(daysSinceEpoch: 20_000)
        #expect(rules.dailyClaim(today: day, lastClaim: nil, streak: 0)! == (1, 50))
        #expect(rules.dailyClaim(today: day, lastClaim: day.previous, streak: 3)! == (4, 80))
        #expect(rules.dailyClaim(today: day, lastClaim: day.previous.previous, streak: 3)! == (1, 50))
        #expect(rules.dailyClaim(today: day, lastClaim: day, streak: 3) == nil)
        #expect(DailyDate(Date(timeIntervalSince1970: 86_400 * 3 - 1)) == DailyDate(daysSinceEpoch: 2))
    }

    @Test func amountsAndCooldownsBySource() {
        let rules = XPRules()
        #expect(rules.amount(for: .message, minutes: nil) == 15 && rules.cooldown(for: .message) == 60)
        #expect(rules.amount(for: .command, minutes: nil) == 5 && rules.cooldown(for: .command) == 30)
        #expect(rules.amount(for: .voice, minutes: 7) == 70 && rules.cooldown(for: .voice) == 0)
    }

    @Test func roleRewardsAddAndRemoveTheDifference() {
        let rewards = RoleRewards.parse("10:111111111111111111,25:222222222222222222", maximumLevel: 100)!
        #expect(rewards.change(from: 9, to: 10) == (["111111111111111111"], []))
        #expect(rewards.change(from: 9, to: 30) == (["111111111111111111", "222222222222222222"], []))
        #expect(rewards.change(from: 30, to: 12) == ([], ["222222222222222222"]))
        #expect(rewards.change(from: 11, to: 12) == ([], []))
        #expect(RoleRewards.parse("0:111111111111111111", maximumLevel: 100) == nil)
        #expect(RoleRewards.parse("10:abc", maximumLevel: 100) == nil)
        #expect(RoleRewards.parse("", maximumLevel: 100) == RoleRewards())
    }

    @Test func aLevelsRewardRemovesRolesALowerOneAddedAndTheWayDownGivesThemBack() {
        let (member, veteran, legend) = ("111111111111111111", "222222222222222222", "333333333333333333")
        let rewards = RoleRewards(byLevel: [
            10: .init(add: [member]), 25: .init(add: [veteran], remove: [member]), 50: .init(add: [legend], remove: [veteran]),
        ])
        #expect(rewards.roles(at: 30) == [veteran])
        #expect(rewards.change(from: 5, to: 50) == (add: [legend], remove: []))
        #expect(rewards.change(from: 50, to: 12) == (add: [member], remove: [legend]))
        #expect(rewards.change(from: 10, to: 25) == (add: [veteran], remove: [member]))
    }

    @Test func theStreakBonusCountsAtMostItsCap() {
        var rules = XPRules()
        rules.streakCapDays = 3
        let today = DailyDate(daysSinceEpoch: 20_000)
        #expect(rules.dailyClaim(today: today, lastClaim: today.previous, streak: 2)?.xp == 50 + 10 * 2)
        #expect(rules.dailyClaim(today: today, lastClaim: today.previous, streak: 9)?.xp == 50 + 10 * 3)
        #expect(rules.dailyClaim(today: today, lastClaim: today.previous, streak: 9)?.streak == 10, "the streak itself goes on")
    }

    @Test func theAdminsSettingsStandForTheRulesAndAreCheckedFieldByField() throws {
        let rewards = RoleRewards(byLevel: [20: .init(add: ["444444444444444444"]), 5: .init(add: ["555555555555555555"])])
        let config = LevelingConfig(rules: XPRules(), rewards: rewards)
        #expect(config.rules == XPRules())
        #expect(config.rewards == rewards)
        #expect(config.roleRewards.map(\.level) == [5, 20])
        func refusal(_ change: (inout LevelingConfig) -> Void) -> String? {
            var changed = config
            change(&changed)
            do {
                _ = try changed.checked(maximumLevel: 100)
                return nil
            } catch let error as APIError {
                return error.message
            } catch {
                return "\(error)"
            }
        }
        #expect(refusal { $0.sources.message.xp = -1 }?.hasPrefix("sources.message.xp:") == true)
        #expect(refusal { $0.sources.command.cooldownSeconds = 86_401 }?.hasPrefix("sources.command.cooldown_seconds:") == true)
        #expect(refusal { $0.daily.streakCapDays = -2 }?.hasPrefix("daily.streak_cap_days:") == true)
        #expect(refusal { $0.roleRewards[1].level = 101 }?.hasPrefix("role_rewards[1].level:") == true)
        #expect(refusal { $0.roleRewards[1].level = 5 }?.hasPrefix("role_rewards[1].level:") == true, "a level given twice")
        #expect(refusal { $0.roleRewards[0].addRoles = ["12"] }?.hasPrefix("role_rewards[0].add_roles[0]:") == true)
        #expect(refusal { $0.roleRewards[0].removeRoles = ["555555555555555555"] }?.hasPrefix("role_rewards[0].remove_roles:") == true)
        #expect(refusal { _ in } == nil)
    }

    @Test func theBotsEventsAreChecked() throws {
        let now = Date()
        func body(_ id: String = "123456789012345678", source: String = "message", minutes: Int? = nil, channel: String? = nil, at: Date? = nil, event: String = "e-1") -> BotEvent.Body {
            BotEvent.Body(discordId: id, source: source, minutes: minutes, channelId: channel, occurredAt: at ?? now, eventId: event)
        }
        #expect(try BotEvent(body(source: "voice", minutes: 5), now: now).minutes == 5)
        #expect(try BotEvent(body(minutes: 3), now: now).minutes == nil, "minutes count only for voice")
        let refused: [BotEvent.Body] = [
            body("12345"), body("1234567890123456789a"), body(source: "reaction"), body(source: "voice"), body(source: "voice", minutes: 61),
            body(minutes: -1), body(channel: "x"), body(at: now.addingTimeInterval(3600)), body(at: now.addingTimeInterval(-8 * 86_400)),
            body(event: ""), body(event: String(repeating: "x", count: 129)),
        ]
        for event in refused {
            #expect(throws: APIError.self) { try BotEvent(event, now: now) }
        }
    }
}
