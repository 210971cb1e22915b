import Foundation
import GuildCore
import HTTPTypes
import HummingbirdTesting
import LevelingService
import Testing

/// leveling's HTTP routes through its router, in-process (``RouterHarness``: a real auth, whose
/// private listener tells the Discord id linked to an account, the test PostgreSQL, a Redis of
/// the test's own).
@Suite("leveling: its HTTP routes (profiles, daily bonus, admin changes, tools)", .serialized)
struct LevelingRouterTests: RouterSuite {
    /// Runs `body` with leveling's router and the harness's callers.
    func withLeveling(_ body: @Sendable (any TestClientProtocol, Callers) async throws -> Void) async throws {
        try await RouterHarness.withService({ try await LevelingService.buildApplication(reader: $0.reader()) }, readyAt: "/api/leveling/me", body)
    }

    @Test func aLinkedMemberHasAProfileAndClaimsTheDailyBonusOncePerDay() async throws {
        try await withLeveling { client, callers in
            #expect(try await Self.call(client, .get, "/api/leveling/me").status == .unauthorized)
            let me = try await Self.call(client, .get, "/api/leveling/me", token: callers.member)
            #expect(me.status == .ok, "\(me.text)")
            #expect(me.body?["discord_id"]?.stringValue == callers.memberDiscordId)
            #expect(me.body?["xp"] == .number(0) && me.body?["level"] == .number(0), "\(me.text)")
            let unlinked = try await Self.call(client, .get, "/api/leveling/me", token: callers.moderator)
            #expect(unlinked.status == .notFound && unlinked.code == "discord_not_linked", "\(unlinked.text)")

            let claimed = try await Self.call(client, .post, "/api/leveling/daily", token: callers.member)
            #expect(claimed.status == .ok, "\(claimed.text)")
            #expect(claimed.body?["streak"] == .number(1))
            let awarded = try #require(claimed.body?["xp_awarded"])
            let twice = try await Self.call(client, .post, "/api/leveling/daily", token: callers.member)
            #expect(twice.status == .conflict && twice.code == "daily_already_claimed", "\(twice.text)")

            #expect(try await Self.call(client, .get, "/api/leveling/users/\(callers.memberDiscordId)").status == .unauthorized)
            let shown = try await Self.call(client, .get, "/api/leveling/users/\(callers.memberDiscordId)", token: callers.moderator)
            #expect(shown.status == .ok, "any signed-in caller may look a member up: \(shown.text)")
            #expect(shown.body?["xp"] == awarded, "the second claim added nothing: \(shown.text)")
            #expect(try await Self.call(client, .get, "/api/leveling/users/not-a-discord-id", token: callers.member).status == .badRequest)
            let history = try await Self.call(client, .get, "/api/leveling/xp-history/\(callers.memberDiscordId)", token: callers.member)
            #expect(history.status == .ok, "\(history.text)")
            #expect(history.text.contains("\"daily\""), "\(history.text)")
        }
    }

    @Test func onlyAdminsChangeXPAndARefusedChangeChangesNothing() async throws {
        try await withLeveling { client, callers in
            let member = callers.memberDiscordId
            let change = #"{"discord_id":"\#(member)","amount":250,"reason":"event winner"}"#
            #expect(try await Self.call(client, .post, "/api/leveling/xp", token: callers.member, json: change).status == .forbidden)
            #expect(try await Self.call(client, .post, "/api/leveling/xp", token: callers.moderator, json: change).status == .forbidden)
            for (body, field) in [
                (#"{"discord_id":"\#(member)","amount":0,"reason":"x"}"#, "amount"), (#"{"discord_id":"\#(member)","amount":5,"reason":" "}"#, "reason"),
                (#"{"discord_id":"12","amount":5,"reason":"x"}"#, "discord_id"), (#"{"discord_id":"\#(member)","amount":1.5,"reason":"x"}"#, "amount"),
            ] {
                let refused = try await Self.call(client, .post, "/api/leveling/xp", token: callers.admin, json: body)
                #expect(refused.status == .badRequest, "\(body): \(refused.text)")
                #expect(refused.text.contains(field), "\(body): \(refused.text)")
            }
            let untouched = try await Self.call(client, .get, "/api/leveling/users/\(member)", token: callers.member)
            #expect(untouched.code == "profile_not_found", "a refused change made a profile: \(untouched.text)")

            let adjusted = try await Self.call(client, .post, "/api/leveling/xp", token: callers.admin, json: change)
            #expect(adjusted.status == .ok, "\(adjusted.text)")
            #expect(adjusted.body?["total_xp"] == .number(250))
            let lowered = try await Self.call(client, .post, "/api/leveling/xp", token: callers.admin, json: #"{"discord_id":"\#(member)","amount":-1000,"reason":"correction"}"#)
            #expect(lowered.body?["total_xp"] == .number(0) && lowered.body?["xp_change"] == .number(-250), "never below 0: \(lowered.text)")
            let reset = try await Self.call(client, .post, "/api/leveling/users/\(member)/reset", token: callers.moderator)
            #expect(reset.status == .forbidden)
        }
    }

    @Test func toolsAreTheAdminsToAddAndEachMemberSeesWhatTheirLevelUnlocks() async throws {
        try await withLeveling { client, callers in
            let id = "router-\(UUID().uuidString.prefix(8).lowercased())"
            let tool = #"{"id":"\#(id)","name":"Router tool","unlock_level":1}"#
            #expect(try await Self.call(client, .post, "/api/leveling/tools", token: callers.member, json: tool).status == .forbidden)
            #expect(try await Self.call(client, .post, "/api/leveling/tools", token: callers.admin, json: #"{"id":"Bad Id","name":"x","unlock_level":1}"#).status == .badRequest)
            #expect(try await Self.call(client, .post, "/api/leveling/tools", token: callers.admin, json: tool).status == .created)
            #expect(try await Self.call(client, .post, "/api/leveling/tools", token: callers.admin, json: tool).status == .conflict)
            let catalogue = try await Self.call(client, .get, "/api/leveling/tools")
            #expect(catalogue.text.contains(id), "the catalogue is public: \(catalogue.text)")

            let mine = try await Self.call(client, .get, "/api/leveling/tools/user/\(callers.memberDiscordId)", token: callers.member)
            #expect(mine.status == .ok, "\(mine.text)")
            let entry = mine.body?["tools"]?.elements?.first { $0["id"] == .string(id) }
            #expect(entry?["unlocked"] == .bool(false), "level 0 does not unlock level 1: \(mine.text)")
            let others = try await Self.call(client, .get, "/api/leveling/tools/user/\(callers.memberDiscordId)", token: callers.moderator)
            #expect(others.status == .ok, "staff may look: \(others.text)")

            let renamed = try await Self.call(client, .patch, "/api/leveling/tools/\(id)", token: callers.admin, json: #"{"name":"Renamed"}"#)
            #expect(renamed.body?["name"]?.stringValue == "Renamed", "\(renamed.text)")
            #expect(try await Self.call(client, .patch, "/api/leveling/tools/\(id)", token: callers.admin, json: #"{"unlock_level":-1}"#).status == .badRequest)
            #expect(try await Self.call(client, .patch, "/api/leveling/tools/nope-\(id)", token: callers.admin, json: #"{"name":"x"}"#).status == .notFound)
        }
    }

    @Test func aToolNobodyUnlockedIsDeletedAndOneSomeoneDidIsRetiredAndKeptForThem() async throws {
        try await withLeveling { client, callers in
            let (unused, unlocked) = ("unused-\(UUID().uuidString.prefix(8).lowercased())", "kept-\(UUID().uuidString.prefix(8).lowercased())")
            for id in [unused, unlocked] {
                let created = try await Self.call(client, .post, "/api/leveling/tools", token: callers.admin, json: #"{"id":"\#(id)","name":"Tool \#(id)","unlock_level":50}"#)
                #expect(created.body?["active"] == .bool(true), "\(created.text)")
            }
            #expect(try await Self.call(client, .delete, "/api/leveling/tools/\(unused)", token: callers.moderator).status == .forbidden)
            let deleted = try await Self.call(client, .delete, "/api/leveling/tools/\(unused)", token: callers.admin)
            #expect(deleted.status == .ok && deleted.body?["retired"] == .bool(false), "\(deleted.text)")
            #expect(try await Self.call(client, .delete, "/api/leveling/tools/\(unused)", token: callers.admin).status == .notFound)
            #expect(try await Self.call(client, .patch, "/api/leveling/tools/\(unused)", token: callers.admin, json: #"{"name":"x"}"#).status == .notFound)

            let member = callers.memberDiscordId
            #expect(try await Self.call(client, .post, "/api/leveling/tools/unlock/\(member)/\(unlocked)", token: callers.admin).status == .ok)
            let retired = try await Self.call(client, .delete, "/api/leveling/tools/\(unlocked)", token: callers.admin)
            #expect(retired.status == .ok && retired.body?["retired"] == .bool(true), "\(retired.text)")
            let catalogue = try await Self.call(client, .get, "/api/leveling/tools")
            #expect(!catalogue.text.contains(unlocked), "a retired tool stays in the catalogue: \(catalogue.text)")
            let theirs = try await Self.call(client, .get, "/api/leveling/tools/user/\(member)", token: callers.member)
            let kept = theirs.body?["tools"]?.elements?.first { $0["id"] == .string(unlocked) }
            #expect(kept?["name"]?.stringValue == "Tool \(unlocked)" && kept?["unlocked"] == .bool(true), "\(theirs.text)")
            let other = "8\(Int.random(in: 10_000_000_000_000_000...99_999_999_999_999_999))"
            #expect(try await Self.call(client, .post, "/api/leveling/tools/unlock/\(other)/\(unlocked)", token: callers.admin).status == .notFound)

            let back = try await Self.call(client, .patch, "/api/leveling/tools/\(unlocked)", token: callers.admin, json: #"{"active":true}"#)
            #expect(back.body?["active"] == .bool(true), "\(back.text)")
            #expect(try await Self.call(client, .get, "/api/leveling/tools").text.contains(unlocked))
            #expect(try await Self.call(client, .patch, "/api/leveling/tools/\(unlocked)", token: callers.admin, json: #"{"active":null}"#).status == .badRequest)
        }
    }
}
