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
import PostgresNIO
import Testing

/// The auth service in-process against the test PostgreSQL and a Redis of the test's own.
@Suite("auth: brute-force brake and revocations that survive a restart", .serialized)
struct AuthServiceTests {
    static let password = "service-test-password"

    func reader(redis: String, username: String, extra: [AbsoluteConfigKey: ConfigValue] = [:]) throws -> ConfigReader {
        var values: [AbsoluteConfigKey: ConfigValue] = [
            "host": "127.0.0.1", "port": 0, "internal.port": 0, "verify.port": 0,
            "database.url": .init(stringLiteral: try TestEnvironment.databaseURL()),
            "redis.url": .init(stringLiteral: redis),
            "data.dir": .init(stringLiteral: FileManager.default.temporaryDirectory.appendingPathComponent("guildhall-auth-tests").path),
            "bcrypt.cost": 4,
            "admin.username": .init(stringLiteral: username),
            "admin.password": .init(stringLiteral: Self.password),
            "log.level": "critical",
        ]
        values.merge(extra) { $1 }
        return ConfigReader(provider: InMemoryProvider(values: values))
    }

    func loginBody(_ username: String, _ password: String) -> ByteBuffer {
        ByteBuffer(string: #"{"username":"\#(username)","password":"\#(password)"}"#)
    }

    @Test func repeatedFailuresFromOneAddressAre429WhileOthersStillLogIn() async throws {
        try await RedisServerProcess.withServer { redis in
            let admin = "svc-admin-\(UUID().uuidString.prefix(8).lowercased())"
            let app = try await buildApplication(reader: try reader(redis: redis.url, username: admin, extra: ["login.max.failures.per.ip": 3]))
            try await app.test(.router) { client in
                for attempt in 0..<3 {
                    let reply = try await client.execute(
                        uri: "/api/auth/login", method: .post, headers: [.contentType: "application/json", HTTPField.Name("X-Real-IP")!: "203.0.113.7"],
                        body: loginBody("nobody-\(attempt)", "wrong password")
                    )
                    #expect(reply.status == .unauthorized)
                }
                let blocked = try await client.execute(
                    uri: "/api/auth/login", method: .post, headers: [.contentType: "application/json", HTTPField.Name("X-Real-IP")!: "203.0.113.7"],
                    body: loginBody(admin, Self.password)
                )
                #expect(blocked.status == .tooManyRequests)
                #expect(Int(blocked.headers[.retryAfter] ?? "") ?? 0 > 0)
                let elsewhere = try await client.execute(
                    uri: "/api/auth/login", method: .post, headers: [.contentType: "application/json", HTTPField.Name("X-Real-IP")!: "198.51.100.9"],
                    body: loginBody(admin, Self.password)
                )
                #expect(elsewhere.status == .ok)

                // Redis away: logging in still works (without the brake).
                await redis.stop()
                let withoutRedis = try await client.execute(
                    uri: "/api/auth/login", method: .post, headers: [.contentType: "application/json", HTTPField.Name("X-Real-IP")!: "198.51.100.10"],
                    body: loginBody(admin, Self.password)
                )
                #expect(withoutRedis.status == .ok)
            }
        }
    }

    /// A session revoked while a replica was away is refused by it after it starts: the
    /// revocation list is reloaded from PostgreSQL, not only heard on the channel.
    @Test func aReplicaStartingLaterStillRefusesARevokedSession() async throws {
        try await RedisServerProcess.withServer { redis in
            let admin = "svc-admin-\(UUID().uuidString.prefix(8).lowercased())"
            let first = try await buildApplication(reader: try reader(redis: redis.url, username: admin))
            let token = try await first.test(.router) { client -> String in
                let login = try await client.execute(uri: "/api/auth/login", method: .post, headers: [.contentType: "application/json"], body: loginBody(admin, Self.password))
                #expect(login.status == .ok)
                let token = try JSONDecoder().decode(Token.self, from: Data(buffer: login.body)).token
                let logout = try await client.execute(uri: "/api/auth/logout", method: .post, headers: [.authorization: "Bearer \(token)"])
                #expect(logout.status == .ok)
                return token
            }
            // A new replica, which never heard the pub/sub message.
            let second = try await buildApplication(reader: try reader(redis: redis.url, username: admin))
            try await second.test(.router) { client in
                // From its very first answer: the list is loaded before the replica serves.
                let reply = try await client.execute(uri: "/api/auth/verify-token", method: .get, headers: [.authorization: "Bearer \(token)"])
                #expect(reply.status == .unauthorized, "a replica started after the logout accepted the revoked token")
            }
        }
    }

    @Test(arguments: [0, 65]) func aVerifyThreadCountOutOfRangeStopsStartUp(_ threads: Int) async throws {
        let reader = try reader(redis: "redis://127.0.0.1:1", username: "unused", extra: ["verify.threads": .init(integerLiteral: threads)])
        await #expect(throws: GuildCore.ConfigurationError.self) { _ = try await buildApplication(reader: reader) }
    }

    @Test func discordRoutesAnswer503UntilDiscordIsConfigured() async throws {
        try await RedisServerProcess.withServer { redis in
            let app = try await buildApplication(reader: try reader(redis: redis.url, username: "svc-admin-\(UUID().uuidString.prefix(8).lowercased())"))
            try await app.test(.router) { client in
                for (uri, method) in [("/api/discord/auth?platform=web", HTTPRequest.Method.get), ("/api/discord/callback?code=a&state=b", .get)] {
                    let reply = try await client.execute(uri: uri, method: method)
                    #expect(reply.status == .serviceUnavailable)
                    #expect(String(buffer: reply.body).contains("discord_not_configured"))
                }
                let exchange = try await client.execute(uri: "/api/auth/exchange", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: #"{"code":"x"}"#))
                #expect(exchange.status == .serviceUnavailable)
            }
        }
    }

    /// `GET /api/health`: every service's replicas asked; one that does not answer makes it 503.
    @Test func theStacksHealthNamesAServiceThatDoesNotAnswer() async throws {
        try await RedisServerProcess.withServer { redis in
            let app = try await buildApplication(reader: try reader(
                redis: redis.url, username: "svc-admin-\(UUID().uuidString.prefix(8).lowercased())",
                extra: ["stack.health.urls": "booking=http://127.0.0.1:9|http://127.0.0.1:9"]
            ))
            try await app.test(.router) { client in
                let reply = try await client.execute(uri: "/api/health", method: .get)
                #expect(reply.status == .serviceUnavailable)
                let body = try JSONDecoder().decode(StackHealth.self, from: Data(buffer: reply.body))
                #expect(body.status == "degraded")
                #expect(body.services == ["auth": "ok", "booking": "down"])
            }
        }
    }

    @Test(arguments: ["booking", "=http://x", "booking=not a url"]) func aMalformedStackHealthListStopsStartUp(_ value: String) async throws {
        _ = try await RedisServerProcess.withServer { redis in
            await #expect(throws: (any Error).self) {
                _ = try await buildApplication(reader: try reader(redis: redis.url, username: "svc-admin-x", extra: ["stack.health.urls": .init(stringLiteral: value)]))
            }
        }
    }

    struct StackHealth: Decodable {
        var status: String
        var services: [String: String]
    }

    struct Token: Decodable {
        var token: String
    }
}
