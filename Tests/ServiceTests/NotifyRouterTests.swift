import AuthService
import Configuration
import Foundation
import GuildCore
import GuildServiceKit
import GuildTestSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import NotifyService
import Testing

/// notify's HTTP routes through its router, in-process (``RouterHarness``: a real auth, the test
/// PostgreSQL, a Redis of the test's own).
@Suite("notify: its HTTP routes (inbox, broadcasts, push devices, socket.io polling)", .serialized)
struct NotifyRouterTests: RouterSuite {
    // MARK: The stack

    /// Runs `body` with notify's router and the tokens of an admin and of a new member.
    func withNotify(_ body: @Sendable (any TestClientProtocol, Callers) async throws -> Void) async throws {
        // Only live connections in ticket rooms need tickets; nothing listens there.
        try await RouterHarness.withService(
            { try await NotifyService.buildApplication(reader: $0.reader(["tickets.internal.url": "http://127.0.0.1:9", "notify.replica.id": "router-test"])) },
            readyAt: "/api/notifications", body
        )
    }

    /// The entry `id` of an inbox page.
    private static func entry(_ id: JSONValue?, in page: JSONValue?) -> JSONValue? {
        guard case .array(let items)? = page?["items"] else { return nil }
        return items.first { $0["id"] == id }
    }

    // MARK: The inbox

    @Test func theInboxAnswersOnlyItsOwnerAndRefusesWhatIsMalformed() async throws {
        try await withNotify { client, callers in
            #expect(try await Self.call(client, .get, "/api/notifications").status == .unauthorized)
            #expect(try await Self.call(client, .get, "/api/notifications", token: "not.a.token").status == .unauthorized)

            let page = try await Self.call(client, .get, "/api/notifications", token: callers.member)
            #expect(page.status == .ok)
            #expect(page.body?["unread_count"] == .number(0))
            #expect(page.body?["items"] == .array([]))
            for limit in ["0", "201", "abc"] {
                let bad = try await Self.call(client, .get, "/api/notifications?limit=\(limit)", token: callers.member)
                #expect(bad.status == .badRequest, "limit=\(limit): \(bad.text)")
                #expect(bad.text.contains("limit"))
            }
            let cursor = try await Self.call(client, .get, "/api/notifications?cursor=nope", token: callers.member)
            #expect(cursor.status == .badRequest)

            for id in [UUID().uuidString, "not-a-uuid"] {
                let unknown = try await Self.call(client, .post, "/api/notifications/\(id)/read", token: callers.member)
                #expect(unknown.status == .notFound)
                #expect(unknown.body?["error"]?["code"]?.stringValue == "notification_not_found" || unknown.text.contains("notification_not_found"))
            }
            let all = try await Self.call(client, .post, "/api/notifications/read-all", token: callers.member)
            #expect(all.status == .ok)
            #expect(all.body?["unread_count"] == .number(0))
        }
    }

    @Test func aBroadcastIsTheAdminsReachesEveryInboxOnceAndIsReadPerUser() async throws {
        try await withNotify { client, callers in
            let broadcast = #"{"title":"Maintenance","message":"Servers restart at noon","priority":"high"}"#
            let refused = try await Self.call(client, .post, "/api/notifications/broadcast", token: callers.member, json: broadcast)
            #expect(refused.status == .forbidden)
            // Marked, so that broadcasts other tests store meanwhile (every inbox shows them) do not count.
            let marker = "refused-\(UUID().uuidString)"
            for (body, field) in [
                (#"{"title":"","message":"\#(marker)"}"#, "title"), (#"{"title":"\#(marker)","message":""}"#, "message"),
                (#"{"title":"\#(marker)","message":"\#(marker)","priority":"urgent"}"#, "priority"), (#"{"title":"\#(marker)"}"#, "message"),
            ] {
                let bad = try await Self.call(client, .post, "/api/notifications/broadcast", token: callers.admin, json: body)
                #expect(bad.status == .badRequest, "\(body): \(bad.text)")
                #expect(bad.text.contains(field), "\(body): \(bad.text)")
            }
            let before = try await Self.call(client, .get, "/api/notifications?limit=100", token: callers.member)
            guard case .array(let shown)? = before.body?["items"] else {
                Issue.record("no items: \(before.text)")
                return
            }
            #expect(!shown.contains { $0["title"]?.stringValue == marker || $0["body"]?.stringValue == marker }, "a refused broadcast was stored")

            let key: HTTPFields = [HTTPField.Name("Idempotency-Key")!: UUID().uuidString]
            let sent = try await Self.call(client, .post, "/api/notifications/broadcast", token: callers.admin, json: broadcast, headers: key)
            #expect(sent.status == .created, "\(sent.text)")
            let again = try await Self.call(client, .post, "/api/notifications/broadcast", token: callers.admin, json: broadcast, headers: key)
            #expect(again.body?["id"] == sent.body?["id"], "a retry with the same key stored a second broadcast")

            let inbox = try await Self.call(client, .get, "/api/notifications", token: callers.member)
            guard case .array(let items)? = inbox.body?["items"] else {
                Issue.record("no items: \(inbox.text)")
                return
            }
            let mine = items.filter { $0["id"] == sent.body?["id"] }
            #expect(mine.count == 1)
            #expect(mine.first?["priority"]?.stringValue == "high")
            #expect(mine.first?["read"] == .bool(false))
            let id = try #require(sent.body?["id"]?.stringValue)
            let read = try await Self.call(client, .post, "/api/notifications/\(id)/read", token: callers.member)
            #expect(read.status == .ok)
            let after = try await Self.entry(sent.body?["id"], in: Self.call(client, .get, "/api/notifications", token: callers.member).body)
            #expect(after?["read"] == .bool(true))
            let admins = try await Self.entry(sent.body?["id"], in: Self.call(client, .get, "/api/notifications", token: callers.admin).body)
            #expect(admins?["read"] == .bool(false), "read for everyone")
        }
    }

    // MARK: Push devices

    @Test func devicesRegisterAndGoWhilePushIsOff() async throws {
        try await withNotify { client, callers in
            let token = "device-\(UUID().uuidString)"
            for (body, field) in [
                (#"{"platform":"android"}"#, "fcm_token"), (#"{"fcm_token":"has space","platform":"android"}"#, "fcm_token"),
                (#"{"fcm_token":"\#(token)","platform":"toaster"}"#, "platform"), (#"{"fcm_token":7,"platform":"ios"}"#, "fcm_token"),
            ] {
                let bad = try await Self.call(client, .post, "/api/notifications/register-token", token: callers.member, json: body)
                #expect(bad.status == .badRequest, "\(body): \(bad.text)")
                #expect(bad.text.contains(field))
            }
            let registered = try await Self.call(
                client, .post, "/api/notifications/register-token", token: callers.member, json: #"{"fcm_token":"\#(token)","platform":"android"}"#
            )
            #expect(registered.status == .ok, "\(registered.text)")
            let message = #"{"fcm_token":"\#(token)","title":"Hi","body":"there"}"#
            #expect(try await Self.call(client, .post, "/api/notifications/test", token: callers.member, json: message).status == .forbidden)
            let test = try await Self.call(client, .post, "/api/notifications/test", token: callers.admin, json: message)
            #expect(test.status == .serviceUnavailable)
            #expect(test.text.contains("push_disabled"))
            let removed = try await Self.call(client, .delete, "/api/notifications/register-token?fcm_token=\(token)", token: callers.member)
            #expect(removed.status == .ok)
            let gone = try await Self.call(client, .delete, "/api/notifications/register-token?fcm_token=\(token)", token: callers.member)
            #expect(gone.status == .notFound)
            #expect(gone.text.contains("push_token_not_found"))
        }
    }

    // MARK: socket.io over HTTP

    @Test func socketIOPollingKeepsToEngineIOAndEndsABrokenSession() async throws {
        try await withNotify { client, _ in
            let open = try await Self.call(client, .get, "/socket.io/?EIO=4&transport=polling")
            #expect(open.status == .ok)
            #expect(open.text.hasPrefix("0{"))
            let handshake = try JSONValue(parsing: String(open.text.dropFirst()))
            let sid = try #require(handshake["sid"]?.stringValue)
            #expect(sid.hasPrefix("router-test."), "the sid names its replica: \(sid)")
            #expect(handshake["upgrades"] == .array([.string("websocket")]))

            #expect(try await Self.call(client, .get, "/socket.io/?EIO=3&transport=polling").status == .badRequest)
            #expect(try await Self.call(client, .get, "/socket.io/?EIO=4&transport=websocket").status == .badRequest)
            #expect(try await Self.call(client, .get, "/socket.io/?EIO=4&transport=polling&sid=unknown").status == .badRequest)
            #expect(try await Self.call(client, .post, "/socket.io/?EIO=4&transport=polling").status == .badRequest, "a POST without a sid")

            // A CONNECT without a token is refused in-band; the session goes on.
            let connect = try await client.execute(
                uri: "/socket.io/?EIO=4&transport=polling&sid=\(sid)", method: .post, body: ByteBuffer(string: "40")
            )
            #expect(String(buffer: connect.body) == "ok")
            let refusal = try await Self.call(client, .get, "/socket.io/?EIO=4&transport=polling&sid=\(sid)")
            #expect(refusal.text.hasPrefix("44{\"message\":"), "\(refusal.text)")

            // A packet that is no Engine.IO packet ends the session: 400, and it is gone.
            let broken = try await client.execute(
                uri: "/socket.io/?EIO=4&transport=polling&sid=\(sid)", method: .post, body: ByteBuffer(string: "abc")
            )
            #expect(broken.status == .badRequest)
            #expect(try await Self.call(client, .get, "/socket.io/?EIO=4&transport=polling&sid=\(sid)").status == .badRequest)
        }
    }
}
