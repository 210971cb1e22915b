import AuthService
import Configuration
import Foundation
import GuildCore
import GuildTestSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// What a service's router needs to be tested in-process: a real auth on loopback ports (its
/// JWKS for tokens, its private listener for the accounts a service asks about), the test
/// PostgreSQL, a Redis of the test's own, and the tokens of an admin, a moderator and a member.
/// No nginx in front: each route's own checks are what the router suites test.
enum RouterHarness {
    static let password = "router-harness-password"

    /// Who a test calls as.
    struct Callers: Sendable {
        let admin: String
        let moderator: String
        let member: String
        /// The member's account id.
        let memberId: String
        /// The Discord id linked to the member's account.
        let memberDiscordId: String
    }

    /// Where the service under test finds auth and Redis.
    struct Stack: Sendable {
        let redisURL: String
        let jwksURL: String
        let authInternalURL: String

        /// A service's configuration against this stack (listeners on any free port), plus `extra`.
        func reader(_ extra: [AbsoluteConfigKey: ConfigValue] = [:]) throws -> ConfigReader {
            var values: [AbsoluteConfigKey: ConfigValue] = [
                "host": "127.0.0.1", "port": 0, "internal.port": 0,
                "database.url": .init(stringLiteral: try TestEnvironment.databaseURL()),
                "redis.url": .init(stringLiteral: redisURL),
                "jwks.url": .init(stringLiteral: jwksURL),
                "auth.internal.url": .init(stringLiteral: authInternalURL),
                "log.level": "critical",
            ]
            values.merge(extra) { $1 }
            return ConfigReader(provider: InMemoryProvider(values: values))
        }
    }

    /// Runs `body` with auth up (public and private listener), a Redis, and three callers.
    static func withAuth(_ body: @Sendable (Stack, Callers) async throws -> Void) async throws {
        try await RedisServerProcess.withServer { redis in
            let username = "router-admin-\(UUID().uuidString.prefix(8).lowercased())"
            let internalPort = try Loopback.freePort()
            let auth = try await AuthService.buildApplication(reader: Stack(redisURL: redis.url, jwksURL: "", authInternalURL: "").reader([
                "internal.port": .init(integerLiteral: internalPort),
                "data.dir": .init(stringLiteral: FileManager.default.temporaryDirectory.appendingPathComponent("guildhall-router-tests").path),
                "bcrypt.cost": 4, "verify.port": 0,
                "admin.username": .init(stringLiteral: username), "admin.password": .init(stringLiteral: password),
            ]))
            try await auth.test(.live) { authClient in
                let port = try #require(authClient.port)
                let callers = try await callers(authClient, admin: username)
                let stack = Stack(
                    redisURL: redis.url, jwksURL: "http://127.0.0.1:\(port)/api/auth/jwks", authInternalURL: "http://127.0.0.1:\(internalPort)"
                )
                try await body(stack, callers)
            }
        }
    }

    /// Runs `body` with the router of the service `build` makes against the stack, once it takes
    /// the member's token at `readyAt` (it has loaded auth's keys).
    static func withService<App: ApplicationProtocol>(
        _ build: @Sendable (Stack) async throws -> App, readyAt uri: String,
        _ body: @Sendable (any TestClientProtocol, Callers) async throws -> Void
    ) async throws {
        try await withAuth { stack, callers in
            try await build(stack).test(.router) { client in
                try await waitForKeys(client, uri: uri, token: callers.member)
                try await body(client, callers)
            }
        }
    }

    // MARK: Calls

    /// A reply, its body parsed when it is JSON.
    struct Reply {
        let status: HTTPResponse.Status
        let body: JSONValue?
        let text: String

        /// The `error.code` of an error answer.
        var code: String? { body?["error"]?["code"]?.stringValue }
    }

    /// Calls `uri` as the holder of `token` (none: anonymous), with `json` as the body.
    static func call(
        _ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, token: String? = nil, json: String? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> Reply {
        var headers = extra
        if let token { headers[.authorization] = "Bearer \(token)" }
        if json != nil { headers[.contentType] = "application/json" }
        let reply = try await client.execute(uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) })
        let text = String(buffer: reply.body)
        return Reply(status: reply.status, body: try? JSONValue(parsing: text), text: text)
    }

    /// Waits (at most ten seconds) until the service has loaded auth's keys: `uri` takes `token`.
    static func waitForKeys(_ client: any TestClientProtocol, uri: String, token: String) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if try await call(client, .get, uri, token: token).status != .unauthorized { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("the service never took a token of auth's")
    }

    // MARK: Accounts

    private struct Login: Decodable {
        var token: String
    }

    /// The admin's token, and those of a new moderator and a new member with a Discord id.
    private static func callers(_ auth: any TestClientProtocol, admin: String) async throws -> Callers {
        let adminToken = try await login(auth, admin)
        let moderator = try await create(auth, role: "moderator", admin: adminToken)
        let member = try await create(auth, role: "user", admin: adminToken)
        let discordId = "7\(Int.random(in: 10_000_000_000_000_000...99_999_999_999_999_999))"
        let linked = try await call(auth, .patch, "/api/users/\(member.id)", token: adminToken, json: #"{"discord_id":"\#(discordId)"}"#)
        #expect(linked.status == .ok, "linking a Discord id: \(linked.text)")
        return Callers(
            admin: adminToken, moderator: try await login(auth, moderator.username), member: try await login(auth, member.username),
            memberId: member.id, memberDiscordId: discordId
        )
    }

    private static func create(_ auth: any TestClientProtocol, role: String, admin: String) async throws -> (id: String, username: String) {
        let username = "\(role)-\(UUID().uuidString.prefix(8).lowercased())"
        let created = try await call(
            auth, .post, "/api/users", token: admin, json: #"{"username":"\#(username)","password":"\#(password)","role":"\#(role)"}"#
        )
        #expect(created.status == .created, "creating \(username): \(created.text)")
        return (try #require(created.body?["user_id"]?.stringValue), username)
    }

    private static func login(_ auth: any TestClientProtocol, _ username: String) async throws -> String {
        let reply = try await call(auth, .post, "/api/auth/login", json: #"{"username":"\#(username)","password":"\#(password)"}"#)
        #expect(reply.status == .ok, "login of \(username): \(reply.text)")
        return try JSONDecoder().decode(Login.self, from: Data(reply.text.utf8)).token
    }
}

extension JSONValue {
    /// The elements of an array; nil for anything else.
    var elements: [JSONValue]? {
        if case .array(let elements) = self { elements } else { nil }
    }
}

/// A suite of a service's router tests: `Self.call` as ``RouterHarness/call(_:_:_:token:json:headers:)``.
protocol RouterSuite {}

extension RouterSuite {
    typealias Callers = RouterHarness.Callers

    static func call(
        _ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, token: String? = nil, json: String? = nil,
        headers: HTTPFields = [:]
    ) async throws -> RouterHarness.Reply {
        try await RouterHarness.call(client, method, uri, token: token, json: json, headers: headers)
    }
}
