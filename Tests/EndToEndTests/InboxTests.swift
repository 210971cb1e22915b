import AsyncHTTPClient
import Foundation
import GuildCore
import GuildTestSupport
import NIOCore
import NIOHTTP1
import Testing

/// The inbox as users, admins and the bot use it: read state kept in step on every device,
/// broadcasts stored once and read per user, and the bot's `POST /internal/notify`.
@Suite("Inbox: read on every device, broadcasts, the bot's notify", .serialized, .watched)
struct InboxTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    static func discordId() -> String { String(UInt64.random(in: 100_000_000_000_000_000...999_999_999_999_999_999)) }

    /// `POST /internal/notify` on a notify replica's private listener.
    func botNotify(_ body: String, secret: String? = nil, key: String? = nil, replica: Int = 1) async throws -> StackClient.Reply {
        try await StackClient.internalPost("notify", "/internal/notify", body, replica: replica, secret: secret, headers: key.map { [("Idempotency-Key", $0)] } ?? [])
    }

    func linkedUser(_ discordId: String, admin: String) async throws -> StackClient.TestUser {
        let user = try await stack.makeUser(role: "user", admin: admin)
        let linked = try await stack.send(.PATCH, "/api/users/\(user.id)", token: admin, json: ["discord_id": discordId])
        guard linked.status == 200 else { throw StackClient.Failure(message: "linking answered \(linked.status): \(linked.text)") }
        return user
    }

    func inbox(_ token: String, query: String = "limit=200") async throws -> JSONValue {
        try await stack.send(.GET, "/api/notifications?\(query)", token: token).json()
    }

    @Test func theBotsNotifyReachesTheLinkedAccountOnceAndReadingItShowsOnEveryDevice() async throws {
        let admin = try await stack.adminToken()
        let member = Self.discordId()
        let user = try await linkedUser(member, admin: admin)
        let phone = try await LiveSocket.open(token: user.token, replica: 1)
        let laptop = try await LiveSocket.open(token: user.token, replica: 2)

        let body = #"{"discord_id":"\#(member)","action":"booking_reminder","plan":"premium","metadata":{"title":"Your booking starts soon","message":"vm2 at 18:00"}}"#
        #expect(try await botNotify(body, secret: "").status == 401)
        #expect(try await botNotify(body, secret: "wrong").status == 401)
        let sent = try await botNotify(body, key: "reminder-1")
        #expect(sent.status == 200, "\(sent.text)")
        #expect(try sent.json() == .object(["success": .bool(true), "message": .string("notification sent"), "notification_sent": .bool(true)]))
        let again = try await botNotify(body, key: "reminder-1", replica: 2)
        #expect(try again.json()["notification_sent"] == .bool(false), "a retry adds nothing")
        _ = try await botNotify(#"{"discord_id":"\#(member)","action":"level_reward"}"#)

        for socket in [phone, laptop] {
            #expect(await socket.wait { $0.filter { $0["type"] == .string("notification") }.count >= 2 }, "\(socket.frames)")
        }
        var page = try await inbox(user.token)
        // Beside the welcome and any broadcast of the last 30 days.
        let items = page["items"]?.array?.filter { $0["kind"]?.stringValue?.hasPrefix("bot.") == true } ?? []
        let unreadBefore = page["unread_count"]?.int ?? 0
        #expect(items.count == 2 && items.allSatisfy { $0["read"] == .bool(false) }, "\(page)")
        let reminder = try #require(items.first { $0["title"] == .string("Your booking starts soon") })
        #expect(reminder["body"] == .string("vm2 at 18:00") && reminder["kind"] == .string("bot.booking_reminder"))
        #expect(items.contains { $0["title"] == .string("Level reward") })

        // Read on the phone: the laptop hears it.
        let id = try #require(reminder["id"]?.stringValue)
        let read = try await stack.send(.POST, "/api/notifications/\(id)/read", token: user.token)
        #expect(try read.json()["unread_count"]?.int == unreadBefore - 1, "\(read.text)")
        #expect(await laptop.wait { $0.contains { $0["type"] == .string("notification_read") && $0["id"] == .string(id) } }, "\(laptop.frames)")
        #expect(try await stack.send(.POST, "/api/notifications/read-all", token: user.token).json()["unread_count"]?.int == 0)
        #expect(await phone.wait { $0.contains { $0["type"] == .string("notification_read") && $0["id"] == .string("all") } })
        page = try await inbox(user.token)
        #expect(page["unread_count"]?.int == 0 && page["items"]?.array?.allSatisfy { $0["read"] == .bool(true) } == true)

        // Someone else's entry, or none, is a 404.
        let other = try await stack.makeUser(role: "user", admin: admin)
        #expect(try await stack.send(.POST, "/api/notifications/\(id)/read", token: other.token).errorCode() == "notification_not_found")
        #expect(try await stack.send(.POST, "/api/notifications/not-an-id/read", token: other.token).status == 404)
        await phone.close()
        await laptop.close()
    }

    @Test func theBotsNotifyRefusesWhatItCannotDeliver() async throws {
        #expect(try await botNotify(#"{"discord_id":"\#(Self.discordId())","action":"hello"}"#).errorCode() == "member_not_found")
        for body in [
            #"{"discord_id":"123","action":"hello"}"#, #"{"discord_id":123456789012345678,"action":"hello"}"#,
            #"{"discord_id":"\#(Self.discordId())","action":"Hello World"}"#, #"{"discord_id":"\#(Self.discordId())"}"#,
            #"{"discord_id":"\#(Self.discordId())","action":"x","metadata":[1]}"#, "{",
        ] {
            let reply = try await botNotify(body)
            #expect(try reply.status == 400 && reply.errorCode() != nil, "\(body) → \(reply.status) \(reply.text)")
        }
    }

    @Test func aBroadcastIsStoredOnceAndReadPerUser() async throws {
        let admin = try await stack.adminToken()
        let alice = try await stack.makeUser(role: "user", admin: admin)
        let bob = try await stack.makeUser(role: "user", admin: admin)
        let title = "Maintenance \(UUID().uuidString.prefix(6))"
        let body = #"{"title":"\#(title)","message":"vm0 is down from 02:00 to 03:00","priority":"high"}"#
        #expect(try await stack.send(.POST, "/api/notifications/broadcast", token: alice.token, raw: body).status == 403)
        let sockets = [try await LiveSocket.open(token: bob.token, replica: 1), try await LiveSocket.open(token: alice.token, replica: 2)]
        let sent = try await stack.send(.POST, "/api/notifications/broadcast", token: admin, headers: [("Idempotency-Key", "b-\(title.replacingOccurrences(of: " ", with: "-"))")], raw: body)
        #expect(sent.status == 201, "\(sent.text)")
        let retry = try await stack.send(.POST, "/api/notifications/broadcast", token: admin, headers: [("Idempotency-Key", "b-\(title.replacingOccurrences(of: " ", with: "-"))")], raw: body)
        #expect(try retry.json()["id"] == sent.json()["id"] && retry.headers.first(name: "Idempotent-Replayed") == "true")

        for socket in sockets {
            #expect(await socket.wait { $0.contains { $0["type"] == .string("broadcast") && $0["title"] == .string(title) } }, "\(socket.frames)")
        }
        // The marker: a second broadcast, sent after the retry was answered, goes out on the same
        // live channel to every socket; a repeat of the first for the retry would arrive before it.
        let marker = "\(title) is over"
        let markerSent = try await stack.send(.POST, "/api/notifications/broadcast", token: admin, raw: #"{"title":"\#(marker)","message":"vm0 is back"}"#)
        #expect(markerSent.status == 201, "\(markerSent.text)")
        for socket in sockets {
            #expect(await socket.wait { $0.contains { $0["type"] == .string("broadcast") && $0["title"] == .string(marker) } }, "\(socket.frames)")
        }
        for socket in sockets {
            #expect(socket.frames("broadcast").filter { $0["title"] == .string(title) }.count == 1, "a retry is not sent again")
            #expect(socket.frames("broadcast").first { $0["title"] == .string(title) }?["priority"] == .string("high"))
            await socket.close()
        }

        func entries(_ token: String) async throws -> [JSONValue] {
            try await inbox(token)["items"]?.array?.filter { $0["title"] == .string(title) } ?? []
        }
        #expect(try await entries(alice.token).count == 1, "once, however often it was sent")
        #expect(try await entries(bob.token).first?["priority"] == .string("high"))
        let id = try #require(try sent.json()["id"]?.stringValue)
        #expect(try await stack.send(.POST, "/api/notifications/\(id)/read", token: alice.token).status == 200)
        #expect(try await entries(alice.token).first?["read"] == .bool(true))
        #expect(try await entries(bob.token).first?["read"] == .bool(false), "read per user")

        for bad in [#"{"title":"","message":"x"}"#, #"{"title":"x","message":"x","priority":"urgent"}"#, #"{"title":"x"}"#] {
            #expect(try await stack.send(.POST, "/api/notifications/broadcast", token: admin, raw: bad).status == 400, "\(bad)")
        }
        // Pages follow each other through broadcasts and own entries alike.
        let first = try await inbox(bob.token, query: "limit=1")
        if let cursor = first["next_cursor"]?.stringValue {
            let next = try await inbox(bob.token, query: "limit=1&cursor=\(cursor)")
            #expect(next["items"]?.array?.first?["id"] != first["items"]?.array?.first?["id"])
        }
    }

    @Test func inboxEntriesAndBroadcastsReachTheUsersPhones() async throws {
        try await FakeFCM.shared.start()
        let admin = try await stack.adminToken()
        let member = Self.discordId()
        let linked = try await linkedUser(member, admin: admin)
        let other = try await stack.makeUser(role: "user", admin: admin)
        let phones = ["phone-\(UUID().uuidString)", "phone-\(UUID().uuidString)"]
        for (user, token) in zip([linked, other], phones) {
            let registered = try await stack.send(.POST, "/api/notifications/register-token", token: user.token, json: ["fcm_token": token, "platform": "android"])
            #expect(registered.status == 200, "\(registered.text)")
        }
        let title = "Restock \(UUID().uuidString.prefix(6))"
        #expect(try await botNotify(#"{"discord_id":"\#(member)","action":"restock","metadata":{"title":"\#(title)","message":"packs are back"}}"#).status == 200)
        let sent = try await stack.send(.POST, "/api/notifications/broadcast", token: admin, raw: #"{"title":"\#(title) for all","message":"hello"}"#)
        #expect(sent.status == 201)
        // Three pushes, in no particular order: the member's phone gets the bot's restock and the
        // broadcast, the other phone the broadcast.
        let arrived = await eventually(timeout: .seconds(60)) {
            FakeFCM.shared.delivered(to: phones[0]).contains { $0.title == title }
                && FakeFCM.shared.broadcasts(to: phones[0]).contains { $0.title == "\(title) for all" }
                && FakeFCM.shared.broadcasts(to: phones[1]).contains { $0.title == "\(title) for all" }
        }
        #expect(arrived, "\(FakeFCM.shared.messages(to: phones[0])) \(FakeFCM.shared.broadcasts(to: phones[1]))")
        let first = FakeFCM.shared.delivered(to: phones[0])
        #expect(first.contains { $0.title == title && $0.body == "packs are back" && $0.data["kind"] == "bot.restock" })
        #expect(FakeFCM.shared.broadcasts(to: phones[0]).contains { $0.title == "\(title) for all" }, "every device")
        // Once: a second broadcast, sent now, is the marker. Broadcasts are turned into pushes oldest
        // first and the pushes sent oldest first, so once the second has reached both phones a
        // repeat of the first would have reached them too.
        let marker = "\(title) again"
        #expect(try await stack.send(.POST, "/api/notifications/broadcast", token: admin, raw: #"{"title":"\#(marker)","message":"hello again"}"#).status == 201)
        let marked = await eventually(timeout: .seconds(60)) {
            phones.allSatisfy { phone in FakeFCM.shared.broadcasts(to: phone).contains { $0.title == marker } }
        }
        #expect(marked, "\(FakeFCM.shared.broadcasts(to: phones[0])) \(FakeFCM.shared.broadcasts(to: phones[1]))")
        for phone in phones {
            #expect(FakeFCM.shared.broadcasts(to: phone).filter { $0.title == "\(title) for all" }.count == 1, "once: \(FakeFCM.shared.broadcasts(to: phone))")
        }
    }
}
