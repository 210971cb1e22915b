import AsyncHTTPClient
import Foundation
import GuildCore
import GuildTestSupport
import NIOCore
import NIOHTTP1
import Testing

/// Leveling as the bot, members and admins use it: the bot's events on the private listener
/// (both replicas), profiles, the daily bonus, admin changes, tools, the leaderboard, `level_up`
/// frames and role updates that reach the bot once it is up.
@Suite("Leveling: XP from the bot, levels, daily bonus, tools, leaderboard, role rewards", .serialized, .watched)
struct LevelingTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    static func discordId() -> String { String(UInt64.random(in: 100_000_000_000_000_000...999_999_999_999_999_999)) }

    /// `POST path` on a leveling replica's private listener.
    func bot(_ path: String, _ body: String, replica: Int = 1, secret: String? = nil) async throws -> StackClient.Reply {
        try await StackClient.internalPost("leveling", path, body, replica: replica, secret: secret)
    }

    static func event(_ member: String, _ source: String = "message", at date: Date, id: String = UUID().uuidString, minutes: Int? = nil) -> String {
        let extra = minutes.map { #","minutes":\#($0)"# } ?? ""
        return #"{"discord_id":"\#(member)","source":"\#(source)","occurred_at":"\#(RFC3339.format(date))","event_id":"\#(id)"\#(extra)}"#
    }

    func xpAwarded(_ reply: StackClient.Reply) throws -> Int? { try reply.json()["xp_awarded"]?.int }

    func linkedUser(_ discordId: String, admin: String, role: String = "user") async throws -> StackClient.TestUser {
        let user = try await stack.makeUser(role: role, admin: admin)
        let linked = try await stack.send(.PATCH, "/api/users/\(user.id)", token: admin, json: ["discord_id": discordId])
        guard linked.status == 200 else { throw StackClient.Failure(message: "linking answered \(linked.status): \(linked.text)") }
        return user
    }

    func history(_ member: String, token: String) async throws -> [JSONValue] {
        try await stack.send(.GET, "/api/leveling/xp-history/\(member)?limit=200", token: token).json()["items"]?.array ?? []
    }

    // MARK: The bot's events

    @Test func eventsEarnXPOncePerCooldownJudgedByWhenTheyHappenedOnEveryReplica() async throws {
        let member = Self.discordId()
        let start = Date().addingTimeInterval(-3600)
        #expect(try await bot("/internal/leveling/events", Self.event(member, at: start), secret: "").status == 401)
        #expect(try await bot("/internal/leveling/events", Self.event(member, at: start), secret: "wrong").status == 401)

        let first = try await bot("/internal/leveling/events", Self.event(member, at: start, id: "first-\(member)"))
        #expect(first.status == 200, "\(first.text)")
        #expect(try first.json() == .object(["xp_awarded": .number(15), "total_xp": .number(15), "level": .number(0), "leveled_up": .bool(false)]))
        // A retry, through the other replica, answers the same and awards nothing.
        let retry = try await bot("/internal/leveling/events", Self.event(member, at: start, id: "first-\(member)"), replica: 2)
        #expect(try retry.json() == first.json())
        #expect(try xpAwarded(await bot("/internal/leveling/events", Self.event(member, at: start.addingTimeInterval(30)), replica: 2)) == 0)
        #expect(try xpAwarded(await bot("/internal/leveling/events", Self.event(member, at: start.addingTimeInterval(61)))) == 15)
        // Late, but a minute clear of both rewarded ones: it counts.
        #expect(try xpAwarded(await bot("/internal/leveling/events", Self.event(member, at: start.addingTimeInterval(-61)))) == 15)
        #expect(try xpAwarded(await bot("/internal/leveling/events", Self.event(member, at: start.addingTimeInterval(-20)))) == 0)
        #expect(try xpAwarded(await bot("/internal/leveling/events", Self.event(member, "voice", at: start, minutes: 6))) == 60)
        #expect(try xpAwarded(await bot("/internal/leveling/events", Self.event(member, "command", at: start))) == 5)
        #expect(try xpAwarded(await bot("/internal/leveling/events", Self.event(member, "command", at: start.addingTimeInterval(10)))) == 0)

        // Ten messages at the same moment on both replicas: one earns.
        let later = start.addingTimeInterval(600)
        let awarded = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<10 {
                group.addTask { try self.xpAwarded(await self.bot("/internal/leveling/events", Self.event(member, at: later), replica: 1 + index % 2)) ?? -1 }
            }
            return try await group.reduce(0, +)
        }
        #expect(awarded == 15)

        let admin = try await stack.adminToken()
        let profile = try await stack.send(.GET, "/api/leveling/users/\(member)", token: admin).json()
        #expect(profile["xp"]?.int == 125)
        let total = try await history(member, token: admin).compactMap { $0["amount"]?.int }.reduce(0, +)
        #expect(total == 125, "the history adds up to the total")
    }

    @Test func aBatchIsJudgedInOrderAndABadEventAwardsNothing() async throws {
        let member = Self.discordId()
        let other = Self.discordId()
        let at = Date().addingTimeInterval(-7200)
        let events = [
            Self.event(member, at: at, id: "b1-\(member)"), Self.event(member, at: at.addingTimeInterval(5)), Self.event(other, "voice", at: at, minutes: 60),
            Self.event(member, at: at, id: "b1-\(member)"),
        ]
        let reply = try await bot("/internal/leveling/events/batch", #"{"events":[\#(events.joined(separator: ","))]}"#)
        #expect(reply.status == 200, "\(reply.text)")
        let results = try reply.json()["results"]?.array ?? []
        #expect(results.map { $0["xp_awarded"]?.int } == [15, 0, 600, 15])
        #expect(results.map { $0["total_xp"]?.int } == [15, 15, 600, 15])
        #expect(results[2]["level"]?.int == 2 && results[2]["leveled_up"] == .bool(true), "600 XP: level 2 (from 500)")

        let bad = [Self.event(member, at: at.addingTimeInterval(500)), #"{"discord_id":123456789012345678,"source":"message","occurred_at":"2026-11-25T00:00:00Z","event_id":"x"}"#]
        let refused = try await bot("/internal/leveling/events/batch", #"{"events":[\#(bad.joined(separator: ","))]}"#)
        #expect(try refused.status == 400 && refused.errorCode() != nil, "\(refused.text)")
        let tooMany = Array(repeating: Self.event(member, at: at), count: 501).joined(separator: ",")
        let refusedMany = try await bot("/internal/leveling/events/batch", #"{"events":[\#(tooMany)]}"#)
        #expect(refusedMany.status == 400, "\(refusedMany.text)")
        #expect(try await bot("/internal/leveling/events/batch", #"{"events":[]}"#).status == 400)
        let admin = try await stack.adminToken()
        #expect(try await stack.send(.GET, "/api/leveling/users/\(member)", token: admin).json()["xp"]?.int == 15, "nothing awarded")
    }

    @Test func malformedEventsAreClearRefusals() async throws {
        let member = Self.discordId()
        let now = Date()
        let bodies = [
            "{", "[]", #"{"source":"message"}"#, Self.event("12345", at: now), Self.event(member, "reaction", at: now),
            Self.event(member, "voice", at: now), Self.event(member, "voice", at: now, minutes: 61), Self.event(member, "voice", at: now, minutes: -3),
            Self.event(member, at: now.addingTimeInterval(86_400)),
            #"{"discord_id":"\#(member)","source":"message","occurred_at":"yesterday","event_id":"e"}"#,
            #"{"discord_id":"\#(member)","source":"message","occurred_at":"\#(RFC3339.format(now))"}"#,
        ]
        for body in bodies {
            let reply = try await bot("/internal/leveling/events", body)
            #expect(reply.status == 400, "\(body) → \(reply.status) \(reply.text)")
            #expect(try reply.errorCode() != nil)
        }
        let admin = try await stack.adminToken()
        #expect(try await stack.send(.GET, "/api/leveling/users/\(member)", token: admin).status == 404, "no profile was made")
    }

    // MARK: Profiles, daily, admin

    @Test func membersReachTheirProfileThroughTheirLinkAndClaimTheDailyBonusOnce() async throws {
        let admin = try await stack.adminToken()
        let unlinked = try await stack.makeUser(role: "user", admin: admin)
        #expect(try await stack.send(.GET, "/api/leveling/me", token: unlinked.token).errorCode() == "discord_not_linked")
        #expect(try await stack.send(.POST, "/api/leveling/daily", token: unlinked.token).status == 404)
        #expect(try await stack.send(.GET, "/api/leveling/me").status == 401)

        // A link made in auth counts at once.
        let member = Self.discordId()
        let linked = try await stack.send(.PATCH, "/api/users/\(unlinked.id)", token: admin, json: ["discord_id": member])
        #expect(linked.status == 200)
        let me = try await stack.send(.GET, "/api/leveling/me", token: unlinked.token)
        #expect(me.status == 200, "\(me.text)")
        #expect(try me.json()["discord_id"] == .string(member) && me.json()["xp"]?.int == 0)

        // Claims at the same moment: one gets the bonus.
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<6 { group.addTask { try await self.stack.send(.POST, "/api/leveling/daily", token: unlinked.token).status } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.filter { $0 == 200 }.count == 1 && statuses.filter { $0 == 409 }.count == 5, "\(statuses)")
        let after = try await stack.send(.GET, "/api/leveling/me", token: unlinked.token).json()
        #expect(after["xp"]?.int == 50 && after["streak"]?.int == 1)
        #expect(try await stack.send(.POST, "/api/leveling/daily", token: unlinked.token).errorCode() == "daily_already_claimed")
    }

    @Test func adminsChangeXPWithinTheFormulasBoundsAndTheHistoryRecordsWhoAndWhy() async throws {
        let admin = try await stack.adminToken()
        let member = Self.discordId()
        let owner = try await linkedUser(member, admin: admin)
        let stranger = try await linkedUser(Self.discordId(), admin: admin)
        let moderator = try await stack.makeUser(role: "moderator", admin: admin)
        func adjust(_ amount: Int, token: String? = nil) async throws -> StackClient.Reply {
            try await stack.send(.POST, "/api/leveling/xp", token: token ?? admin, raw: #"{"discord_id":"\#(member)","amount":\#(amount),"reason":"event prize"}"#)
        }
        #expect(try await adjust(149).json()["level"]?.int == 0)
        let up = try await adjust(1).json()
        #expect(up["level"]?.int == 1 && up["leveled_up"] == .bool(true) && up["total_xp"]?.int == 150)
        let down = try await adjust(-1000).json()
        #expect(down["total_xp"]?.int == 0 && down["xp_change"]?.int == -150, "never below 0")
        #expect(try await adjust(5, token: moderator.token).status == 403)
        #expect(try await adjust(5, token: owner.token).status == 403)
        for body in [#"{"discord_id":"\#(member)","amount":0,"reason":"x"}"#, #"{"discord_id":"\#(member)","amount":5000000,"reason":"x"}"#,
                     #"{"discord_id":"\#(member)","amount":5,"reason":""}"#, #"{"discord_id":"abc","amount":5,"reason":"x"}"#] {
            #expect(try await stack.send(.POST, "/api/leveling/xp", token: admin, raw: body).status == 400, "\(body)")
        }

        let set = try await stack.send(.PUT, "/api/leveling/users/\(member)/level", token: admin, raw: #"{"level":10,"reason":"migration"}"#)
        #expect(try set.json()["xp"]?.int == 10_500 && set.json()["level"]?.int == 10 && set.json()["tier"] == .string("Basic"), "\(set.text)")
        #expect(try set.json()["xp_into_level"]?.int == 0 && set.json()["xp_for_next_level"]?.int == 2_150)
        for level in [0, 101] {
            #expect(try await stack.send(.PUT, "/api/leveling/users/\(member)/level", token: admin, raw: #"{"level":\#(level)}"#).status == 400)
        }
        let reset = try await stack.send(.POST, "/api/leveling/users/\(member)/reset", token: admin)
        #expect(try reset.json()["xp"]?.int == 0 && reset.json()["level"]?.int == 0, "\(reset.text)")

        let entries = try await history(member, token: moderator.token)
        #expect(entries.map { $0["source"]?.stringValue } == ["reset", "level_set", "admin", "admin", "admin"])
        #expect(entries.last?["reason"] == .string("event prize") && entries.last?["admin_id"] != .null)
        #expect(try await history(member, token: owner.token).count == 5)
        #expect(try await stack.send(.GET, "/api/leveling/xp-history/\(member)", token: stranger.token).status == 403)
        let page = try await stack.send(.GET, "/api/leveling/xp-history/\(member)?limit=2", token: admin).json()
        let cursor = try #require(page["next_cursor"]?.stringValue)
        let rest = try await stack.send(.GET, "/api/leveling/xp-history/\(member)?limit=10&cursor=\(cursor)", token: admin).json()
        #expect(rest["items"]?.array?.count == 3 && rest["next_cursor"] == .null)
    }

    // MARK: Tools, leaderboard, frames, roles

    @Test func toolsUnlockAtTheirLevelOrByAnAdmin() async throws {
        let admin = try await stack.adminToken()
        let member = Self.discordId()
        let owner = try await linkedUser(member, admin: admin)
        let id = "tool-\(UUID().uuidString.prefix(8).lowercased())"
        let created = try await stack.send(.POST, "/api/leveling/tools", token: admin, raw: #"{"id":"\#(id)","name":"Auto Enchanter","unlock_level":2}"#)
        #expect(created.status == 201, "\(created.text)")
        #expect(try await stack.send(.POST, "/api/leveling/tools", token: admin, raw: #"{"id":"\#(id)","name":"Again","unlock_level":2}"#).status == 409)
        #expect(try await stack.send(.POST, "/api/leveling/tools", token: owner.token, raw: #"{"id":"x-\#(id)","name":"No","unlock_level":2}"#).status == 403)
        #expect(try await stack.send(.POST, "/api/leveling/tools", token: admin, raw: #"{"id":"Bad Id","name":"No","unlock_level":2}"#).status == 400)
        #expect(try await stack.send(.GET, "/api/leveling/tools").json()["tools"]?.array?.contains { $0["id"] == .string(id) } == true)

        func mine() async throws -> JSONValue? {
            try await stack.send(.GET, "/api/leveling/tools/user/\(member)", token: owner.token).json()["tools"]?.array?.first { $0["id"] == .string(id) }
        }
        #expect(try await mine()?["unlocked"] == .bool(false))
        _ = try await bot("/internal/leveling/events", Self.event(member, "voice", at: Date(), minutes: 50))
        #expect(try await mine()?["unlocked"] == .bool(true), "level 2 at 500 XP")

        let other = Self.discordId()
        let unlocked = try await stack.send(.POST, "/api/leveling/tools/unlock/\(other)/\(id)", token: admin)
        #expect(try unlocked.json()["newly_unlocked"] == .bool(true), "\(unlocked.text)")
        #expect(try await stack.send(.POST, "/api/leveling/tools/unlock/\(other)/\(id)", token: admin).json()["newly_unlocked"] == .bool(false))
        #expect(try await stack.send(.POST, "/api/leveling/tools/unlock/\(other)/no-such-tool", token: admin).status == 404)
        let patched = try await stack.send(.PATCH, "/api/leveling/tools/\(id)", token: admin, raw: #"{"unlock_level":7}"#)
        #expect(try patched.json()["unlock_level"]?.int == 7)
    }

    @Test func theLeaderboardRanksByXPAndShowsTheCallersPlace() async throws {
        let admin = try await stack.adminToken()
        let top = Self.discordId()
        let me = Self.discordId()
        let user = try await linkedUser(me, admin: admin)
        for (member, xp) in [(top, 5_000_000), (me, 4_999_999)] {
            let set = try await stack.send(.POST, "/api/leveling/xp", token: admin, raw: #"{"discord_id":"\#(member)","amount":\#(min(xp, 1_000_000)),"reason":"seed"}"#)
            #expect(set.status == 200)
        }
        _ = try await stack.send(.POST, "/api/leveling/xp", token: admin, raw: #"{"discord_id":"\#(top)","amount":1,"reason":"seed"}"#)
        // Public reads show a change on every replica within a second (at once on the one that made it).
        var entries: [JSONValue] = []
        _ = try await eventually(timeout: .seconds(1), every: .milliseconds(20)) {
            // A whole page: members made elsewhere (the contract fuzzing's, up to level 100 and beyond) may rank above these two.
            entries = try await stack.send(.GET, "/api/leveling/leaderboard?limit=200").json()["entries"]?.array ?? []
            return entries.contains { $0["discord_id"] == .string(top) } && entries.contains { $0["discord_id"] == .string(me) }
        }
        let topEntry = try #require(entries.first { $0["discord_id"] == .string(top) })
        let myEntry = try #require(entries.first { $0["discord_id"] == .string(me) })
        #expect((topEntry["rank"]?.int ?? 0) < (myEntry["rank"]?.int ?? 0))
        // The same read without a token first: a signed-in caller is never answered from its cache.
        let anonymous = try await stack.send(.GET, "/api/leveling/leaderboard?limit=1&offset=0").json()["me"]
        #expect(anonymous == nil || anonymous == .null)
        let mine = try await stack.send(.GET, "/api/leveling/leaderboard?limit=1&offset=0", token: user.token).json()["me"]
        #expect(mine?["rank"] == myEntry["rank"] && mine?["discord_id"] == .string(me))
        #expect(try await stack.send(.GET, "/api/leveling/leaderboard?limit=0").status == 400)
        #expect(try await stack.send(.GET, "/api/leveling/leaderboard?offset=-1").status == 400)
        #expect(try await stack.send(.GET, "/api/leveling/levels").json()["levels"]?.array?.count == 100)
    }

    @Test func aLevelUpReachesTheMembersSocketAndRoleUpdatesReachTheBotOnceItIsUpInOrder() async throws {
        let admin = try await stack.adminToken()
        let member = Self.discordId()
        let user = try await linkedUser(member, admin: admin)
        let socket = try await LiveSocket.open(token: user.token)

        // The bot is down for this member: the role changes of levels 3 and 5, and of the reset, wait.
        try await FakeBot.shared.start()
        FakeBot.shared.downFor.withLock { _ = $0.insert(member) }
        for body in [#"{"level":3}"#, #"{"level":5}"#] {
            #expect(try await stack.send(.PUT, "/api/leveling/users/\(member)/level", token: admin, raw: body).status == 200)
        }
        #expect(await socket.wait(timeout: .seconds(10)) { frames in frames.contains { $0["type"] == .string("level_up") && $0["level"] == .number(5) } }, "\(socket.frames)")
        #expect(try await stack.send(.POST, "/api/leveling/users/\(member)/reset", token: admin).status == 200)
        // leveling has tried the bot, which, down, has taken none of them.
        let tried = await eventually(timeout: .seconds(60)) { FakeBot.shared.refusals(of: "/internal/roles/update", for: member) > 0 }
        #expect(tried, "leveling never tried the bot while it was down")
        #expect(FakeBot.shared.updates(for: member).isEmpty)

        FakeBot.shared.downFor.withLock { _ = $0.remove(member) }
        let arrived = await eventually(timeout: .seconds(60)) { FakeBot.shared.updates(for: member).count >= 3 }
        #expect(arrived, "\(FakeBot.shared.updates(for: member))")
        // The marker: level 3 again after the reset, once the three were taken. A member's role
        // updates go to the bot oldest first, each until it is taken, so a repeat of one of the
        // three would reach the bot before it.
        #expect(try await stack.send(.PUT, "/api/leveling/users/\(member)/level", token: admin, raw: #"{"level":3}"#).status == 200)
        let marked = await eventually(timeout: .seconds(60)) { FakeBot.shared.updates(for: member).count >= 4 }
        #expect(marked, "\(FakeBot.shared.updates(for: member))")
        let updates = FakeBot.shared.updates(for: member)
        #expect(updates.map(\.addRoles) == [["300000000000000003"], ["500000000000000005"], [], ["300000000000000003"]], "\(updates)")
        #expect(updates.map(\.removeRoles) == [[], [], ["300000000000000003", "500000000000000005"], []])
        #expect(Set(updates.map(\.idempotencyKey)).count == 4, "once each")
        #expect(FakeBot.shared.refusedSecrets.withLock { $0 } == 0)
    }

    // MARK: Discord events

    /// `POST /internal/events` on auth's private listener.
    func discordEvent(_ body: String, secret: String? = nil) async throws -> StackClient.Reply {
        try await StackClient.internalPost("auth", "/internal/events", body, secret: secret)
    }

    @Test func aMemberWhoJoinsDiscordHasAProfile() async throws {
        let admin = try await stack.adminToken()
        let member = Self.discordId()
        let body = #"{"event_type":"member_joined","discord_id":"\#(member)","metadata":{"joined_at":"2026-11-25T10:00:00Z"}}"#
        #expect(try await discordEvent(body, secret: "").status == 401)
        #expect(try await discordEvent(body, secret: "wrong").status == 401)
        #expect(try await stack.send(.POST, "/internal/events", raw: body).status == 404, "never through nginx")
        let accepted = try await discordEvent(body)
        #expect(accepted.status == 202, "\(accepted.text)")
        #expect(try accepted.json()["type"] == .string("discord.member_joined"))
        let made = try await eventually(timeout: .seconds(60)) {
            try await stack.send(.GET, "/api/leveling/users/\(member)", token: admin).status == 200
        }
        #expect(made, "no profile for the member who joined")
        #expect(try await stack.send(.GET, "/api/leveling/users/\(member)", token: admin).json()["xp"]?.int == 0)
        #expect(try await discordEvent(#"{"event_type":"member_left","discord_id":"\#(member)"}"#).status == 202, "other types are carried")
        for bad in [#"{"event_type":"Member Joined","discord_id":"\#(member)"}"#, #"{"event_type":"member_joined","discord_id":"12"}"#,
                    #"{"event_type":"member_joined","discord_id":"\#(member)","metadata":[1]}"#, "{"] {
            #expect(try await discordEvent(bad).status == 400, "\(bad)")
        }
    }
}
