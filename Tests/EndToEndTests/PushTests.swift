import AsyncHTTPClient
import Foundation
import GuildCore
import GuildPostgres
import GuildTestSupport
import NIOCore
import PostgresNIO
import Testing

/// Push notifications through FCM HTTP v1, against the fake FCM: devices registered and moved,
/// the admins' test send, dead tokens dropped, and the durable queue worked off by the sender.
@Suite("Push notifications through FCM", .serialized, .watched)
struct PushTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    /// A registration token no other test uses, shaped like FCM's.
    static func fcmToken() -> String { "fcm-\(UUID().uuidString.lowercased()):APA91b\(UUID().uuidString.prefix(12))" }

    /// Who holds `token` in notify's `push_tokens`, and on which platform.
    func holder(of token: String) async throws -> (userId: String, platform: String)? {
        try await withStackDatabase(schema: "notify") { postgres in
            try await postgres.query("SELECT user_id, platform FROM push_tokens WHERE token = \(token)", logger: e2eLogger)
                .decode((String, String).self).first { _ in true }
                .map { (userId: $0.0, platform: $0.1) }
        }
    }

    /// Registers `token` for `user` on `platform`, expecting 200 `{success: true}`.
    func register(_ token: String, for user: StackClient.TestUser, platform: String = "android") async throws {
        // A new user's welcome is pushed to the devices registered when it is written: wait for
        // it first, so the device gets only what the test sends.
        let welcomed = await eventually(timeout: .seconds(60)) {
            (try? await stack.send(.GET, "/api/notifications", token: user.token).json()["items"]?.array?.contains { $0["kind"] == .string("welcome") }) == true
        }
        #expect(welcomed, "no welcome for \(user.name)")
        let body = ["fcm_token": token, "platform": platform]
        let reply = try await stack.send(.POST, "/api/notifications/register-token", token: user.token, json: body)
        #expect(reply.status == 200, "\(reply.text)")
        #expect(try reply.json()["success"] == .bool(true))
    }

    /// Queues a push for `userId` the way the inbox does, by writing the job row.
    func enqueue(userId: String, kind: String, title: String, body: String, data: [String: String]) async throws {
        let json = String(decoding: try JSONEncoder().encode(data), as: UTF8.self)
        try await withStackDatabase(schema: "notify") { postgres in
            _ = try await postgres.query(
                "INSERT INTO push_jobs (user_id, kind, title, body, data) VALUES (\(userId), \(kind), \(title), \(body), \(json)::jsonb)",
                logger: e2eLogger
            )
        }
    }

    /// How many of `userId`'s jobs are still queued.
    func queuedJobs(of userId: String) async throws -> Int {
        try await withStackDatabase(schema: "notify") { postgres in
            try await postgres.query("SELECT count(*)::int FROM push_jobs WHERE user_id = \(userId)", logger: e2eLogger)
                .decode(Int.self).first { _ in true } ?? 0
        }
    }

    /// The sum of the counter `name` over both notify replicas' `/metrics`.
    func counter(_ name: String) async throws -> Double {
        var total = 0.0
        for replica in 1...2 {
            let url = try StackAddresses.url(of: "notify", replica: replica, privateListener: true) + "/metrics"
            let response = try await StackClient.client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
            let text = String(buffer: try await response.body.collect(upTo: 4 << 20))
            for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
                total += Double(line.split(separator: " ").last ?? "") ?? 0
            }
        }
        return total
    }

    // MARK: Devices

    @Test func aTokenIsRegisteredMovedToItsNewUserAndRemovedByItsHolderOnly() async throws {
        let admin = try await stack.adminToken()
        let first = try await stack.makeUser(role: "user", admin: admin)
        let second = try await stack.makeUser(role: "user", admin: admin)
        let token = Self.fcmToken()

        try await register(token, for: first, platform: "android")
        #expect(try await holder(of: token)?.userId == first.id)
        // Registering it again (same user, new platform) keeps one row.
        try await register(token, for: first, platform: "web")
        #expect(try await holder(of: token)?.platform == "web")

        // The device changes hands: the token is the second user's now.
        try await register(token, for: second, platform: "ios")
        let moved = try await holder(of: token)
        #expect(moved?.userId == second.id)
        #expect(moved?.platform == "ios")

        let notTheirs = try await stack.send(.DELETE, "/api/notifications/register-token", token: first.token, json: ["fcm_token": token])
        #expect(notTheirs.status == 404)
        #expect(try notTheirs.errorCode() == "push_token_not_found")
        #expect(try await holder(of: token)?.userId == second.id)

        let removed = try await stack.send(.DELETE, "/api/notifications/register-token", token: second.token, json: ["fcm_token": token])
        #expect(removed.status == 200, "\(removed.text)")
        #expect(try removed.json()["success"] == .bool(true))
        #expect(try await holder(of: token) == nil)
        let again = try await stack.send(.DELETE, "/api/notifications/register-token", token: second.token, json: ["fcm_token": token])
        #expect(again.status == 404)

        // The token may also come in the query.
        let other = Self.fcmToken()
        try await register(other, for: first)
        let escaped = other.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? other
        let byQuery = try await stack.send(.DELETE, "/api/notifications/register-token?fcm_token=\(escaped)", token: first.token)
        #expect(byQuery.status == 200, "\(byQuery.text)")
        #expect(try await holder(of: other) == nil)
    }

    @Test func registeringRefusesABadTokenOrPlatformNamingTheField() async throws {
        let admin = try await stack.adminToken()
        let user = try await stack.makeUser(role: "user", admin: admin)
        let path = "/api/notifications/register-token"
        let cases: [(String, String)] = [
            (#"{"platform":"android"}"#, "fcm_token"),
            (#"{"fcm_token":"","platform":"android"}"#, "fcm_token"),
            (#"{"fcm_token":"has space","platform":"android"}"#, "fcm_token"),
            (#"{"fcm_token":"tab\there","platform":"android"}"#, "fcm_token"),
            (#"{"fcm_token":42,"platform":"android"}"#, "fcm_token"),
            (#"{"fcm_token":"\#(String(repeating: "a", count: 4097))","platform":"android"}"#, "fcm_token"),
            (#"{"fcm_token":"\#(Self.fcmToken())"}"#, "platform"),
            (#"{"fcm_token":"\#(Self.fcmToken())","platform":"windows"}"#, "platform"),
            (#"{"fcm_token":"\#(Self.fcmToken())","platform":["ios"]}"#, "platform"),
        ]
        for (body, field) in cases {
            let reply = try await stack.send(.POST, path, token: user.token, raw: body)
            #expect(reply.status == 400, "\(body.prefix(80)): \(reply.status) \(reply.text)")
            #expect(try reply.errorCode() == "invalid_field", "\(body.prefix(80))")
            #expect(try reply.json()["error"]?["message"]?.stringValue?.hasPrefix(field) == true, "\(body.prefix(80)): \(reply.text)")
        }
        let longest = UUID().uuidString + String(repeating: "b", count: 4096 - 36)
        try await register(longest, for: user, platform: "web")
        #expect(try await stack.send(.DELETE, path, token: user.token, json: ["fcm_token": longest]).status == 200)

        let noToken = try await stack.send(.DELETE, path, token: user.token)
        #expect(noToken.status == 400)
        #expect(try noToken.json()["error"]?["message"]?.stringValue?.hasPrefix("fcm_token") == true, "\(noToken.text)")
        let badToken = try await stack.send(.DELETE, path, token: user.token, raw: #"{"fcm_token":"a b"}"#)
        #expect(badToken.status == 400)

        let anonymous = try await stack.send(.POST, path, json: ["fcm_token": Self.fcmToken(), "platform": "ios"])
        #expect(anonymous.status == 401)
    }

    // MARK: The test send

    @Test func theAdminsTestSendReachesFCMInTheV1Shape() async throws {
        try await FakeFCM.shared.start()
        let admin = try await stack.adminToken()
        let token = Self.fcmToken()
        let reply = try await stack.send(
            .POST, "/api/notifications/test", token: admin, json: ["fcm_token": token, "title": "Hello from Guildhall", "body": "A test push"]
        )
        #expect(reply.status == 200, "\(reply.text)")
        #expect(try reply.json()["success"] == .bool(true))
        let messageId = try reply.json()["message_id"]?.stringValue ?? ""
        #expect(messageId.hasPrefix("projects/guildhall-test/messages/"), "\(reply.text)")

        let received = FakeFCM.shared.delivered(to: token)
        #expect(received.count == 1)
        #expect(try await counter("push_sends_total") >= 1)
        #expect(received.first?.project == "guildhall-test")
        #expect(received.first?.title == "Hello from Guildhall")
        #expect(received.first?.body == "A test push")
        #expect(received.first?.data == ["kind": "test"])
        // Every access token came from an assertion signed with the account's key.
        #expect(FakeFCM.shared.assertions.withLock { $0.accepted } >= 1)
        #expect(FakeFCM.shared.assertions.withLock { $0.refused } == [])

        let user = try await stack.makeUser(role: "user", admin: admin)
        let byUser = ["fcm_token": token, "title": "x", "body": "y"]
        let forbidden = try await stack.send(.POST, "/api/notifications/test", token: user.token, json: byUser)
        #expect(forbidden.status == 403)
        let untitled = try await stack.send(.POST, "/api/notifications/test", token: admin, json: ["fcm_token": token, "body": "y"])
        #expect(untitled.status == 400)
        #expect(try untitled.json()["error"]?["message"]?.stringValue?.hasPrefix("title") == true, "\(untitled.text)")
    }

    @Test func anAccessTokenFCMRefusesIsRenewedAndTheSendTriedOnce() async throws {
        try await FakeFCM.shared.start()
        let admin = try await stack.adminToken()
        // Straight to one replica, so the token it holds is the one revoked.
        let replica = StackClient(baseURL: try StackAddresses.url(of: "notify", replica: 1))
        let first = ["fcm_token": Self.fcmToken(), "title": "t", "body": "b"]
        let warm = try await replica.send(.POST, "/api/notifications/test", token: admin, json: first)
        #expect(warm.status == 200, "\(warm.text)")
        let accepted = FakeFCM.shared.assertions.withLock { $0.accepted }
        let refused = FakeFCM.shared.unauthorized.withLock { $0 }
        FakeFCM.shared.revokeAccessTokens()

        let token = Self.fcmToken()
        let reply = try await replica.send(.POST, "/api/notifications/test", token: admin, json: ["fcm_token": token, "title": "again", "body": "b"])
        #expect(reply.status == 200, "\(reply.text)")
        #expect(FakeFCM.shared.delivered(to: token).count == 1)
        #expect(FakeFCM.shared.unauthorized.withLock { $0 } > refused, "FCM never refused the revoked token")
        #expect(FakeFCM.shared.assertions.withLock { $0.accepted } > accepted, "no new access token was fetched after the 401")
    }

    @Test func aDeadTokenIsDroppedOnceFCMReportsIt() async throws {
        try await FakeFCM.shared.start()
        let admin = try await stack.adminToken()
        let user = try await stack.makeUser(role: "user", admin: admin)

        // Through the test send: a 502 that says what FCM said, and the token is gone.
        let droppedBefore = try await counter("push_tokens_dropped_total")
        let dead = Self.fcmToken()
        try await register(dead, for: user)
        FakeFCM.shared.markDead(dead)
        let reply = try await stack.send(.POST, "/api/notifications/test", token: admin, json: ["fcm_token": dead, "title": "t", "body": "b"])
        #expect(reply.status == 502, "\(reply.text)")
        #expect(try reply.errorCode() == "fcm_token_rejected")
        #expect(try reply.json()["error"]?["message"]?.stringValue?.contains("UNREGISTERED") == true, "\(reply.text)")
        #expect(try await holder(of: dead) == nil)
        let gone = try await stack.send(.DELETE, "/api/notifications/register-token", token: user.token, json: ["fcm_token": dead])
        #expect(gone.status == 404)

        // Through the queue: the live device gets the push, the dead one is dropped.
        let live = Self.fcmToken()
        let alsoDead = Self.fcmToken()
        try await register(live, for: user, platform: "ios")
        try await register(alsoDead, for: user, platform: "android")
        FakeFCM.shared.markDead(alsoDead)
        try await enqueue(userId: user.id, kind: "ticket_reply", title: "Staff replied", body: "Have a look", data: [:])
        let settled = try await eventually(timeout: .seconds(60), every: .milliseconds(100)) {
            guard try await holder(of: alsoDead) == nil else { return false }
            return try await queuedJobs(of: user.id) == 0
        }
        #expect(settled, "the dead token was not dropped, or the job not finished")
        #expect(FakeFCM.shared.delivered(to: live).count == 1)
        #expect(FakeFCM.shared.messages(to: alsoDead).map(\.status) == [404])
        #expect(try await holder(of: live)?.userId == user.id)
        #expect(try await counter("push_tokens_dropped_total") - droppedBefore == 2)
    }

    // MARK: The queue

    @Test func aQueuedJobReachesEveryDeviceOfItsUserOnce() async throws {
        try await FakeFCM.shared.start()
        let admin = try await stack.adminToken()
        let user = try await stack.makeUser(role: "user", admin: admin)
        let phone = Self.fcmToken()
        let browser = Self.fcmToken()
        try await register(phone, for: user, platform: "android")
        try await register(browser, for: user, platform: "web")
        // Another user's device hears nothing of it.
        let stranger = try await stack.makeUser(role: "user", admin: admin)
        let strangers = Self.fcmToken()
        try await register(strangers, for: stranger)

        try await enqueue(userId: user.id, kind: "ticket_reply", title: "Staff replied", body: "We fixed it", data: ["ticket_id": "t-1"])
        let arrived = await eventually(timeout: .seconds(60), every: .milliseconds(100)) {
            !FakeFCM.shared.delivered(to: phone).isEmpty && !FakeFCM.shared.delivered(to: browser).isEmpty
        }
        #expect(arrived, "the job did not reach both devices")
        for token in [phone, browser] {
            let received = FakeFCM.shared.delivered(to: token)
            #expect(received.count == 1, "\(token): \(received)")
            #expect(received.first?.title == "Staff replied")
            #expect(received.first?.body == "We fixed it")
            #expect(received.first?.data == ["kind": "ticket_reply", "ticket_id": "t-1"])
        }
        #expect(try await eventually(timeout: .seconds(60)) { try await queuedJobs(of: user.id) == 0 })
        try await Task.sleep(for: .milliseconds(500))
        #expect(FakeFCM.shared.messages(to: phone).count == 1, "sent twice")
        #expect(FakeFCM.shared.messages(to: strangers).isEmpty)
    }

    @Test func aJobFCMCannotTakeNowIsTriedAgainForTheDevicesItMissed() async throws {
        try await FakeFCM.shared.start()
        let admin = try await stack.adminToken()
        let user = try await stack.makeUser(role: "user", admin: admin)
        let steady = Self.fcmToken()
        let flaky = Self.fcmToken()
        try await register(steady, for: user)
        try await register(flaky, for: user)
        FakeFCM.shared.failOnce(flaky)

        try await enqueue(userId: user.id, kind: "level_up", title: "Level 12", body: "Member tier", data: [:])
        let arrived = await eventually(timeout: .seconds(60), every: .milliseconds(100)) { !FakeFCM.shared.delivered(to: flaky).isEmpty }
        #expect(arrived, "the job was not tried again")
        #expect(FakeFCM.shared.messages(to: flaky).map(\.status) == [503, 200])
        // The device that had it the first time is not sent it again.
        #expect(FakeFCM.shared.messages(to: steady).map(\.status) == [200])
        #expect(try await eventually(timeout: .seconds(60)) { try await queuedJobs(of: user.id) == 0 })
    }

    // MARK: Health and configuration

    @Test func notifyHealthSaysPushIsOn() async throws {
        let reply = try await stack.send(.GET, "/api/notify/health")
        #expect(reply.status == 200, "\(reply.text)")
        #expect(try reply.json()["components"]?["push"] == .string("on"))
        #expect(try reply.json()["status"] == .string("ok"))
    }

    /// Starts the notify executable with `environment` on its own ports, against the tests' own
    /// PostgreSQL and Redis, and runs `body` with its public address.
    func withNotify<T: Sendable>(_ environment: [String], _ body: (String) async throws -> T) async throws -> T {
        let binary = try TestEnvironment.require("GUILDHALL_BIN_DIR") + "/notify"
        let port = try Loopback.freePort()
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("notify-push-\(UUID()).log").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        return try await ChildProcess.running(
            [binary],
            environment: environment + [
                "HOST=127.0.0.1", "PORT=\(port)", "INTERNAL_PORT=0", "LOG_LEVEL=warning",
                "DATABASE_URL=\(try TestEnvironment.databaseURL())", "REDIS_URL=\(try TestEnvironment.redisURL())",
                "JWKS_URL=\(try StackAddresses.url(of: "auth"))/api/auth/jwks",
            ],
            output: output
        ) { _ in
            let url = "http://127.0.0.1:\(port)"
            let up = await eventually(timeout: .seconds(60), every: .milliseconds(200)) {
                (try? await StackClient.client.execute(HTTPClientRequest(url: url + "/api/notify/health"), timeout: .seconds(2)))?.status == .ok
            }
            guard up else {
                throw StackClient.Failure(message: "notify did not start: \((try? String(contentsOfFile: output, encoding: .utf8)) ?? "")")
            }
            return try await body(url)
        }
    }

    @Test func withoutAServiceAccountPushIsOffAndNotifyStaysHealthy() async throws {
        let admin = try await stack.adminToken()
        try await withNotify([]) { url in
            let direct = StackClient(baseURL: url)
            let health = try await direct.send(.GET, "/api/notify/health")
            #expect(health.status == 200, "\(health.text)")
            #expect(try health.json()["status"] == .string("ok"))
            #expect(try health.json()["components"]?["push"] == .string("off"))
            // The service's keys load in the background; the admin's token passes once they have.
            var reply = try await direct.send(.POST, "/api/notifications/test", token: admin, json: ["fcm_token": "t", "title": "t", "body": "b"])
            for _ in 0..<600 where reply.status == 401 {
                try await Task.sleep(for: .milliseconds(100))
                reply = try await direct.send(.POST, "/api/notifications/test", token: admin, json: ["fcm_token": "t", "title": "t", "body": "b"])
            }
            #expect(reply.status == 503, "\(reply.text)")
            #expect(try reply.errorCode() == "push_disabled")
        }
    }

    @Test(arguments: ["not json", #"{"project_id":"p","client_email":"a@b","token_uri":"https://oauth2.googleapis.com/token"}"#, "missing"])
    func aMalformedServiceAccountFileStopsNotifyNamingTheVariable(content: String) async throws {
        let binary = try TestEnvironment.require("GUILDHALL_BIN_DIR") + "/notify"
        let directory = FileManager.default.temporaryDirectory
        let file = directory.appendingPathComponent("service-account-\(UUID()).json").path
        if content != "missing" { try content.write(toFile: file, atomically: true, encoding: .utf8) }
        let output = directory.appendingPathComponent("notify-\(UUID()).log").path
        defer {
            try? FileManager.default.removeItem(atPath: file)
            try? FileManager.default.removeItem(atPath: output)
        }
        let process = try ChildProcess([binary], environment: ["FCM_SERVICE_ACCOUNT_FILE=\(file)", "PORT=0", "INTERNAL_PORT=0"], output: output)
        let status = await process.wait(timeout: .seconds(30))
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        #expect(status == .exited(1), "\(text)")
        #expect(text.contains("FCM_SERVICE_ACCOUNT_FILE"), "\(text)")
    }
}

extension StackClient {
    /// A client of one service reached directly, not through nginx.
    init(baseURL: String) {
        self.baseURL = baseURL
    }
}
