import Foundation
import GuildCore
import GuildTestSupport
import Testing

/// What Guildhall tells the community's bot: members' news as Discord messages, durable through
/// an outage, and the bot's reachability in notify's health.
@Suite("The bot bridge: messages to members and the bot's health", .serialized, .watched)
struct BotBridgeTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    func botHealth() async throws -> String? {
        try await stack.send(.GET, "/api/notify/health").json()["components"]?["bot"]?.stringValue
    }

    @Test func levelUpsReachTheMembersDiscordAfterTheBotWasDownInOrderOnce() async throws {
        try await FakeBot.shared.start()
        let admin = try await stack.adminToken()
        let member = String(UInt64.random(in: 100_000_000_000_000_000...999_999_999_999_999_999))
        let user = try await stack.makeUser(role: "user", admin: admin)
        #expect(try await stack.send(.PATCH, "/api/users/\(user.id)", token: admin, json: ["discord_id": member]).status == 200)
        // Down for everyone a moment (health says so), and for this member until the test says.
        FakeBot.shared.downFor.withLock { _ = $0.insert(member) }
        defer { FakeBot.shared.downFor.withLock { _ = $0.remove(member) } }
        FakeBot.shared.down.withLock { $0 = true }
        let unreachable = try await eventually(timeout: .seconds(60)) { try await botHealth() == "unreachable" }
        FakeBot.shared.down.withLock { $0 = false }
        #expect(unreachable, "notify's health did not say the bot is unreachable")
        #expect(try await stack.send(.GET, "/api/notify/health").json()["status"] == .string("ok"), "the bot never makes notify degraded")

        for level in [3, 5] {
            #expect(try await stack.send(.PUT, "/api/leveling/users/\(member)/level", token: admin, raw: #"{"level":\#(level)}"#).status == 200)
        }
        // Both level-ups are in the inbox; notify has tried the bot, which, down, has none of them yet.
        #expect(try await eventually(timeout: .seconds(60)) {
            (try await stack.send(.GET, "/api/notifications", token: user.token).json()["items"]?.array ?? [])
                .filter { $0["kind"] == .string("level_up") }.count == 2
        })
        let tried = await eventually(timeout: .seconds(60)) { FakeBot.shared.refusals(of: "/internal/notify", for: member) > 0 }
        #expect(tried, "notify never tried the bot while it was down")
        #expect(FakeBot.shared.messages(for: member).isEmpty)

        FakeBot.shared.downFor.withLock { _ = $0.remove(member) }
        #expect(await eventually(timeout: .seconds(60)) { FakeBot.shared.messages(for: member).count >= 2 }, "\(FakeBot.shared.messages(for: member))")
        // The marker: one more level-up, queued once the first two were taken. The member's
        // messages go to the bot oldest first, each until it is taken, so a repeat of one of the
        // first two would reach the bot before it.
        #expect(try await stack.send(.PUT, "/api/leveling/users/\(member)/level", token: admin, raw: #"{"level":7}"#).status == 200)
        let marked = await eventually(timeout: .seconds(60)) { FakeBot.shared.messages(for: member).contains { $0.title == "You reached level 7" } }
        #expect(marked, "\(FakeBot.shared.messages(for: member))")
        let messages = FakeBot.shared.messages(for: member)
        #expect(messages.map(\.title) == ["You reached level 3", "You reached level 5", "You reached level 7"], "in order, once each: \(messages)")
        #expect(messages.allSatisfy { $0.action == "level_up" } && Set(messages.map(\.idempotencyKey)).count == 3)
        #expect(try await eventually(timeout: .seconds(60)) { try await botHealth() == "reachable" })
        let metrics = try await StackClient.internalGet("notify", "/metrics")
        #expect(metrics.text.contains(#"outbound_calls_total{outcome="success",target="bot"}"#) || metrics.text.contains(#"outbound_calls_total{target="bot",outcome="success"}"#), "calls to the bot are counted")
    }
}
