import AsyncHTTPClient
import BookingService
import TicketsService
import Configuration
import Foundation
import GuildTestSupport
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// A service's configuration for a test: its own ports, the given database and Redis.
func testReader(database: String, redis: String) -> ConfigReader {
    ConfigReader(provider: InMemoryProvider(values: [
        "host": "127.0.0.1",
        "port": 0,
        "internal.port": 0,
        "database.url": .init(stringLiteral: database),
        "redis.url": .init(stringLiteral: redis),
        "log.level": "critical",
    ]))
}

@Suite("Degrade, don't die: dependencies going away and coming back", .serialized)
struct ResilienceTests {
    @Test func postgresGoingDownTurnsHealthTo503AndBackWithoutARestart() async throws {
        let stop = try TestEnvironment.require("GUILDHALL_TEST_OUTAGE_PG_STOP")
        let start = try TestEnvironment.require("GUILDHALL_TEST_OUTAGE_PG_START")
        let reader = testReader(database: try TestEnvironment.require("GUILDHALL_TEST_OUTAGE_DATABASE_URL"), redis: try TestEnvironment.redisURL())
        // The tickets service: the outage is about the shared kit (health, pool, recovery), not a service's own jobs.
        let app = try await TicketsService.buildApplication(reader: reader)
        try await app.test(.live) { client in
            let healthy = try await client.execute(uri: "/api/tickets/health", method: .get)
            #expect(healthy.status == .ok)

            #expect(try await runShell(stop) == 0)
            do {
                let degraded = try await client.execute(uri: "/api/tickets/health", method: .get)
                #expect(degraded.status == .serviceUnavailable)
                #expect(degraded.headers[.retryAfter] != nil)
                let report = try JSONDecoder().decode(Report.self, from: Data(buffer: degraded.body))
                #expect(report.status == "degraded")
                #expect(report.failing == ["postgres"])
                #expect(report.checks["redis"] == "ok")
            } catch {
                try await runShell(start)
                throw error
            }
            #expect(try await runShell(start) == 0)

            let recovered = try await eventually(timeout: .seconds(20), every: .milliseconds(250)) {
                try await client.execute(uri: "/api/tickets/health", method: .get).status == .ok
            }
            #expect(recovered, "tickets did not recover after PostgreSQL came back")
        }
    }

    @Test func redisGoingDownTurnsHealthTo503AndHTTPKeepsAnswering() async throws {
        let redis = try RedisServerProcess()
        try redis.start()
        let app = try await BookingService.buildApplication(reader: testReader(database: try TestEnvironment.databaseURL(), redis: redis.url))
        try await app.test(.live) { client in
            #expect(try await client.execute(uri: "/api/booking/health", method: .get).status == .ok)
            redis.stop()
            let degraded = try await client.execute(uri: "/api/booking/health", method: .get)
            #expect(degraded.status == .serviceUnavailable)
            let report = try JSONDecoder().decode(Report.self, from: Data(buffer: degraded.body))
            #expect(report.failing == ["redis"])
            // Other routes still answer while Redis is away.
            let unknown = try await client.execute(uri: "/api/booking/nothing", method: .get)
            #expect(unknown.status == .notFound)

            try redis.start()
            let recovered = try await eventually(timeout: .seconds(20), every: .milliseconds(250)) {
                try await client.execute(uri: "/api/booking/health", method: .get).status == .ok
            }
            #expect(recovered, "booking did not recover after Redis came back")
        }
        redis.stop()
    }

    @Test(arguments: ["auth", "booking", "tickets", "leveling", "notify"])
    func aServiceStopsCleanlyOnSIGTERM(service: String) async throws {
        let binary = try TestEnvironment.require("GUILDHALL_BIN_DIR") + "/" + service
        let port = try RedisServerProcess.freePort()
        var environment = ChildProcess.currentEnvironment().filter { !$0.hasPrefix("PORT=") && !$0.hasPrefix("INTERNAL_PORT=") }
        environment += [
            "PORT=\(port)", "INTERNAL_PORT=0", "HOST=127.0.0.1", "LOG_LEVEL=error",
            "DATABASE_URL=\(try TestEnvironment.databaseURL())",
            "REDIS_URL=\(try TestEnvironment.redisURL())",
            "DATA_DIR=\(FileManager.default.temporaryDirectory.appendingPathComponent("guildhall-sigterm-\(UUID())").path)",
        ]
        let process = try ChildProcess([binary], environment: environment)

        let up = await eventually(timeout: .seconds(60), every: .milliseconds(200)) {
            var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/api/\(service)/health")
            request.method = .GET
            guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(2)) else { return false }
            return response.status == .ok
        }
        #expect(up, "\(service) did not become healthy")

        process.signal(SIGTERM)
        let ended = await process.wait(timeout: .seconds(15))
        #expect(ended == .exited(0), "\(service) after SIGTERM: \(String(describing: ended))")
    }
}

struct Report: Decodable {
    var status: String
    var failing: [String]
    var checks: [String: String]
}
