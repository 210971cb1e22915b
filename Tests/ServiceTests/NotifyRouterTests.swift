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

/// notify's HTTP routes through its router, in-process: tokens from a real auth (served on a
/// loopback port, whose JWKS notify loads), against the test PostgreSQL and a Redis of the
/// test's own. No nginx in front: each route's own checks are what is tested here.
@Suite("notify: its HTTP routes (inbox, broadcasts, push devices, socket.io polling)", .serialized)
struct NotifyRouterTests {
    static let password = "notify-router-password"

    /// Who the tests call as.
    struct Callers {
        let admin: String
        let member: String
    }

    // MARK: The stack

    /// Runs `body` with notify's router and the tokens of an admin and of a new member.
    func withNotify(_ body: @Sendable (any TestClientProtocol, Callers) async throws -> Void) async throws {
        try await RedisServerProcess.withServer { redis in
            let username = "notify-admin-\(UUID().uuidString.prefix(8).lowercased())"
            let auth = try await AuthService.buildApplication(reader: reader(redis: redis.url, [
                "data.dir": .init(stringLiteral: FileManager.default.temporaryDirectory.appendingPathComponent("guildhall-notify-router-tests").path),
                "bcrypt.cost": 4, "verify.port": 0,
                "admin.username": .init(stringLiteral: username), "admin.password": .init(stringLiteral: Self.password),
            ]))
            try await auth.test(.live) { authClient in
                let port = try #require(authClient.port)
                let callers = try await Self.callers(authClient, admin: username)
                let notify = try await NotifyService.buildApplication(reader: reader(redis: redis.url, [
                    "jwks.url": .init(stringLiteral: "http://127.0.0.1:\(port)/api/auth/jwks"),
                    // Only live connections need auth's internal API and tickets; nothing listens there.
                    "auth.internal.url": "http://127.0.0.1:9", "tickets.internal.url": "http://127.0.0.1:9",
                    "notify.replica.id": "router-test",
                ]))
                try await notify.test(.router) { client in
                    try await Self.waitForKeys(client, token: callers.member)
                    try await body(client, callers)
                }
            }
        }
    }

    private func reader(redis: String, _ extra: [AbsoluteConfigKey: ConfigValue]) throws -> ConfigReader {
        var values: [AbsoluteConfigKey: ConfigValue] = [
            "host": "127.0.0.1", "port": 0, "internal.port": 0,
            "database.url": .init(stringLiteral: try TestEnvironment.databaseURL()),
            "redis.url": .init(stringLiteral: redis),
            "log.level": "critical",
        ]
        values.merge(extra) { $1 }
        return ConfigReader(provider: InMemoryProvider(values: values))
    }

    struct Login: Decodable {
        var token: String
    }

    /// The admin's token, and a new member's (created by the admin, then logged in).
    private static func callers(_ auth: any TestClientProtocol, admin: String) async throws -> Callers {
        let adminLogin = try await login(auth, admin)
        let member = "member-\(UUID().uuidString.prefix(8).lowercased())"
        let created = try await auth.execute(
            uri: "/api/users", method: .post, headers: [.contentType: "application/json", .authorization: "Bearer \(adminLogin.token)"],
            body: ByteBuffer(string: #"{"username":"\#(member)","password":"\#(password)","role":"user"}"#)
        )
        #expect(created.status == .created, "\(String(buffer: created.body))")
        let memberLogin = try await login(auth, member)
        return Callers(admin: adminLogin.token, member: memberLogin.token)
    }

    private static func login(_ auth: any TestClientProtocol, _ username: String) async throws -> Login {
        let reply = try await auth.execute(
            uri: "/api/auth/login", method: .post, headers: [.contentType: "application/json"],
            body: ByteBuffer(string: #"{"username":"\#(username)","password":"\#(password)"}"#)
        )
        #expect(reply.status == .ok, "login of \(username): \(String(buffer: reply.body))")
        return try JSONDecoder().decode(Login.self, from: Data(buffer: reply.body))
    }

    /// Waits (at most ten seconds) until notify has loaded auth's keys: a token is taken.
    private static func waitForKeys(_ client: any TestClientProtocol, token: String) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            let reply = try await client.execute(uri: "/api/notifications", method: .get, headers: [.authorization: "Bearer \(token)"])
            if reply.status == .ok { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("notify never took a token of auth's")
    }

    // MARK: Helpers

    private static func call(
        _ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, token: String? = nil, json: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> (status: HTTPResponse.Status, body: JSONValue?, text: String) {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        if json != nil { headers[.contentType] = "application/json" }
        let reply = try await client.execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
        let text = String(buffer: reply.body)
        return (reply.status, try? JSONValue(parsing: text), text)
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
            for (body, field) in [
                (#"{"title":"","message":"x"}"#, "title"), (#"{"title":"x","message":""}"#, "message"),
                (#"{"title":"x","message":"y","priority":"urgent"}"#, "priority"), (#"{"title":"x"}"#, "message"),
            ] {
                let bad = try await Self.call(client, .post, "/api/notifications/broadcast", token: callers.admin, json: body)
                #expect(bad.status == .badRequest, "\(body): \(bad.text)")
                #expect(bad.text.contains(field), "\(body): \(bad.text)")
            }
            let before = try await Self.call(client, .get, "/api/notifications", token: callers.member)
            #expect(before.body?["unread_count"] == .number(0), "a refused broadcast was stored")

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
