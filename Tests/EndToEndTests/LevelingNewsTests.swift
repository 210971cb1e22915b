import AsyncHTTPClient
import Foundation
import GuildCore
import GuildEvents
import GuildRedis
import GuildTestSupport
import NIOCore
import Testing

/// leveling knows members by Discord id only: notify finds the Guildhall account linked to one
/// through auth's private listener (`GET /internal/users/{discord_id}`, also the bot's look-up).
@Suite("Leveling news reaches the account linked to a Discord member", .watched)
struct LevelingNewsTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    /// A Discord id no other test uses (18 digits).
    static func discordId() -> String { String(UInt64.random(in: 100_000_000_000_000_000...999_999_999_999_999_999)) }

    /// Creates a user and links `discordId` to the account.
    func linkedUser(_ discordId: String, admin: String) async throws -> StackClient.TestUser {
        let user = try await stack.makeUser(role: "user", admin: admin)
        let linked = try await stack.send(.PATCH, "/api/users/\(user.id)", token: admin, json: ["discord_id": discordId])
        guard linked.status == 200 else { throw StackClient.Failure(message: "linking \(discordId) answered \(linked.status): \(linked.text)") }
        return user
    }

    /// Publishes `events` on the stack's Redis as the outbox relay does (stream and channel).
    func publish(_ events: [EventEnvelope]) async throws {
        let configuration = try RedisConfiguration(url: try TestEnvironment.require("GUILDHALL_STACK_REDIS_URL"))
        let redis = RedisClient(configuration: configuration, logger: e2eLogger)
        do {
            #expect(try await OutboxRelay.publish(events, to: redis) == events.count)
        } catch {
            try? await redis.shutdown()
            throw error
        }
        try await redis.shutdown()
    }

    /// `GET path` on auth's private listener, with the shared secret unless `secret` is nil.
    func internalGet(_ path: String, secret: String?) async throws -> (status: Int, body: JSONValue) {
        var request = HTTPClientRequest(url: try StackAddresses.url(of: "auth", privateListener: true) + path)
        if let secret { request.headers.add(name: "Authorization", value: "Bearer \(secret)") }
        let response = try await StackClient.client.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), (try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: body))) ?? .null)
    }

    @Test func aLevelUpAndAnUnlockReachTheLinkedAccountsSocketsOnEveryReplicaAndItsInbox() async throws {
        let admin = try await stack.adminToken()
        let discordId = Self.discordId()
        let user = try await linkedUser(discordId, admin: admin)
        let sockets = [try await LiveSocket.open(token: user.token, replica: 1), try await LiveSocket.open(token: user.token, replica: 2)]

        try await publish([
            EventEnvelope(
                type: EventType.levelUp, userId: nil,
                data: .object(["discord_id": .string(discordId), "level": .number(12), "previous_level": .number(11), "tier": .string("Member")])
            ),
            EventEnvelope(
                type: EventType.toolUnlocked, userId: nil,
                data: .object(["discord_id": .string(discordId), "tool_id": .string("auto-ench"), "tool_name": .string("Auto Enchanter")])
            ),
        ])

        for socket in sockets {
            let arrived = await socket.wait(timeout: .seconds(15)) { frames in
                ["level_up", "tool_unlocked"].allSatisfy { type in frames.contains { $0["type"] == .string(type) } }
            }
            #expect(arrived, "\(socket.frames)")
        }
        // The marker: a later level-up of the member, published once both sockets have the news,
        // takes the same way (the stream, notify's consumers, the live channel); once it is there a
        // repeat of the earlier news would be there before it.
        try await publish([Self.levelUp(discordId, level: 13)])
        for socket in sockets {
            #expect(await socket.wait(timeout: .seconds(15)) { $0.contains { $0["type"] == .string("level_up") && $0["level"] == .number(13) } }, "\(socket.frames)")
        }
        for socket in sockets {
            #expect(socket.frames("level_up").map { $0["level"] } == [.number(12), .number(13)], "each event once: \(socket.frames)")
            let levelUp = socket.frames("level_up").first
            #expect(levelUp?["level"] == .number(12))
            #expect(levelUp?["previous_level"] == .number(11))
            #expect(levelUp?["tier"] == .string("Member"))
            let unlocked = socket.frames("tool_unlocked")
            #expect(unlocked.count == 1, "each event once: \(socket.frames)")
            #expect(unlocked.first?["tool_id"] == .string("auto-ench"))
            #expect(unlocked.first?["tool_name"] == .string("Auto Enchanter"))
            await socket.close()
        }

        var inbox = JSONValue.null
        let filed = try await eventually(timeout: .seconds(60)) {
            inbox = try await stack.send(.GET, "/api/notifications", token: user.token).json()
            let entries = inbox["items"]?.array ?? []
            return entries.contains { $0["title"] == .string("You reached level 12") } && entries.contains { $0["kind"] == .string("tool_unlocked") }
        }
        #expect(filed, "\(inbox)")
        let entries = inbox["items"]?.array ?? []
        let levelUp = entries.first { $0["title"] == .string("You reached level 12") }
        #expect(levelUp?["title"] == .string("You reached level 12"))
        #expect(levelUp?["body"] == .string("Member tier"))
        #expect(levelUp?["read"] == .bool(false))
        #expect(entries.first { $0["kind"] == .string("tool_unlocked") }?["title"]?.stringValue?.contains("Auto Enchanter") == true)
    }

    /// `leveling.level_up` of `discordId` to `level` (in the Basic tier).
    static func levelUp(_ discordId: String, level: Int) -> EventEnvelope {
        EventEnvelope(
            type: EventType.levelUp, userId: nil,
            data: .object([
                "discord_id": .string(discordId), "level": .number(Double(level)), "previous_level": .number(Double(level - 1)),
                "tier": .string("Basic"),
            ])
        )
    }

    @Test func newsOfAMemberWithNoLinkedAccountIsPassedOver() async throws {
        let admin = try await stack.adminToken()
        let discordId = Self.discordId()
        let user = try await linkedUser(discordId, admin: admin)
        let socket = try await LiveSocket.open(token: user.token)
        // The unlinked member's event first: it must not hold up (or land on) anyone else's.
        try await publish([Self.levelUp(Self.discordId(), level: 3), Self.levelUp(discordId, level: 4)])
        #expect(await socket.wait(timeout: .seconds(15)) { $0.contains { $0["type"] == .string("level_up") } }, "\(socket.frames)")
        // The marker: a later level-up of the linked member, published now, takes the same way to
        // this socket; the unlinked member's news, published before it, would arrive first.
        try await publish([Self.levelUp(discordId, level: 5)])
        #expect(await socket.wait(timeout: .seconds(15)) { $0.contains { $0["type"] == .string("level_up") && $0["level"] == .number(5) } }, "\(socket.frames)")
        #expect(socket.frames("level_up").map { $0["level"] } == [.number(4), .number(5)])
        await socket.close()
    }

    @Test func authTellsTheBotWhichAccountADiscordMemberIsLinkedTo() async throws {
        let secret = try TestEnvironment.require("GUILDHALL_INTERNAL_SECRET")
        let admin = try await stack.adminToken()
        let discordId = Self.discordId()
        let user = try await linkedUser(discordId, admin: admin)

        let found = try await internalGet("/internal/users/\(discordId)", secret: secret)
        #expect(found.status == 200, "\(found.body)")
        #expect(found.body["user_found"] == .bool(true))
        #expect(found.body["user_id"] == .string(user.id))
        #expect(found.body["username"] == .string(user.name))
        #expect(found.body["role"] == .string("user"))
        #expect(found.body["discord_id"] == .string(discordId))
        #expect(found.body["email"] == .null, "auth keeps no e-mail addresses: the key is there, null: \(found.body)")

        let unknown = try await internalGet("/internal/users/\(Self.discordId())", secret: secret)
        #expect(unknown.status == 200, "\(unknown.body)")
        #expect(unknown.body["user_found"] == .bool(false))
        #expect(unknown.body["user_id"] == .null)

        for bad in ["12", "1234567890123456789012", "12345678901234567a", "not-a-snowflake"] {
            let refused = try await internalGet("/internal/users/\(bad)", secret: secret)
            #expect(refused.status == 400, "\(bad): \(refused.body)")
            #expect(refused.body["error"]?["code"] == .string("invalid_field"), "\(bad): \(refused.body)")
            #expect(refused.body["error"]?["message"]?.stringValue?.contains("discord_id") == true, "\(bad): \(refused.body)")
        }

        #expect(try await internalGet("/internal/users/\(discordId)", secret: nil).status == 401)
        #expect(try await internalGet("/internal/users/\(discordId)", secret: "not-the-secret").status == 401)

        // The services' look-up by user id is untouched by the new route beside it.
        let byId = try await internalGet("/internal/users/by-id/\(user.id)", secret: secret)
        #expect(byId.status == 200, "\(byId.body)")
        #expect(byId.body["user_found"] == .bool(true))
        #expect(byId.body["discord_id"] == .string(discordId))
    }
}
