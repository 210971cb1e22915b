import AsyncHTTPClient
import BookingService
import TicketsService
import Configuration
import Foundation
import GuildStack
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
        try await RedisServerProcess.withServer { redis in
            let app = try await BookingService.buildApplication(reader: testReader(database: try TestEnvironment.databaseURL(), redis: redis.url))
            try await app.test(.live) { client in
                #expect(try await client.execute(uri: "/api/booking/health", method: .get).status == .ok)
                await redis.stop()
                let degraded = try await client.execute(uri: "/api/booking/health", method: .get)
                #expect(degraded.status == .serviceUnavailable)
                let report = try JSONDecoder().decode(Report.self, from: Data(buffer: degraded.body))
                #expect(report.failing == ["redis"])
                // Other routes still answer while Redis is away.
                let unknown = try await client.execute(uri: "/api/booking/nothing", method: .get)
                #expect(unknown.status == .notFound)

                try await redis.start()
                let recovered = try await eventually(timeout: .seconds(20), every: .milliseconds(250)) {
                    try await client.execute(uri: "/api/booking/health", method: .get).status == .ok
                }
                #expect(recovered, "booking did not recover after Redis came back")
            }
        }
    }

    @Test(arguments: GuildStack.services.map(\.name))
    func aServiceStopsCleanlyOnSIGTERM(service: String) async throws {
        let running = try RunningService(service, database: try TestEnvironment.databaseURL(), redis: try TestEnvironment.redisURL())
        #expect(await running.becomesHealthy(within: .seconds(60)), "\(service) did not become healthy")
        running.process.signal(SIGTERM)
        let ended = await running.process.wait(timeout: .seconds(15))
        #expect(ended == .exited(0), "\(service) after SIGTERM: \(String(describing: ended))")
    }

    /// A service stops cleanly however it is in use when SIGTERM comes: idle keep-alive
    /// connections, one with half a request sent, requests arriving throughout, and for notify a
    /// `/ws` WebSocket and a socket.io one, and a socket.io poll waiting for packets. It exits 0
    /// within its grace period (`SHUTDOWN_GRACE_SECONDS`, 5 s here) and the 2 s that cancelled
    /// work has, and never crashes on the way.
    @Test(arguments: GuildStack.services.map(\.name))
    func aServiceInUseStopsCleanlyOnSIGTERM(service: String) async throws {
        let running = try RunningService(service, database: try TestEnvironment.databaseURL(), redis: try TestEnvironment.redisURL())
        var held: [RawConnection] = []
        try await withCleanup {
            #expect(await running.becomesHealthy(within: .seconds(60)), "\(service) did not become healthy")
            let health = "GET /api/\(service)/health HTTP/1.1\r\nHost: \(service)\r\n"
            for _ in 0..<8 {
                let connection = try await RawConnection(port: running.port)
                held.append(connection)
                try await connection.send(health + "\r\n")
                _ = try await connection.read(until: "\r\n\r\n")
            }
            let partial = try await RawConnection(port: running.port)
            held.append(partial)
            try await partial.send(health)
            if service == "notify" {
                let upgrade = "Host: notify\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
                for path in ["/ws", "/socket.io/?EIO=4&transport=websocket"] {
                    let socket = try await RawConnection(port: running.port)
                    held.append(socket)
                    try await socket.send("GET \(path) HTTP/1.1\r\n" + upgrade)
                    #expect(try await socket.read(until: "\r\n\r\n").hasPrefix("HTTP/1.1 101"), "no upgrade of \(path)")
                }
                let handshake = try await RawConnection(port: running.port)
                held.append(handshake)
                try await handshake.send("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: notify\r\n\r\n")
                let opened = try await handshake.read(until: "pingInterval")
                let sid = try #require(opened.firstMatch(of: /"sid":"([^"]+)"/)?.1, "no sid in \(opened)")
                let poll = try await RawConnection(port: running.port)
                held.append(poll)
                try await poll.send("GET /socket.io/?EIO=4&transport=polling&sid=\(sid) HTTP/1.1\r\nHost: notify\r\n\r\n")
            }
            try await withThrowingDiscardingTaskGroup { group in
                // Requests throughout the stop, each on a connection of its own.
                group.addTask {
                    while !Task.isCancelled {
                        if await running.status(of: "/api/\(service)/health", timeout: .seconds(1)) == nil {
                            try? await Task.sleep(for: .milliseconds(20))
                        }
                    }
                }
                try await Task.sleep(for: .milliseconds(300))
                running.process.signal(SIGTERM)
                let began = ContinuousClock.now
                let ended = await running.process.wait(timeout: .seconds(20))
                let took = ContinuousClock.now - began
                group.cancelAll()
                #expect(ended == .exited(0), "\(service) in use, after SIGTERM: \(String(describing: ended)); its log: \(running.log)")
                #expect(took < .seconds(7), "\(service) took \(took) to stop (grace 5 s, then 2 s for cancelled work)")
                #expect(!running.output.contains("Fatal error"), "\(service) crashed on its way out: \(running.log)")
                #expect(running.output.contains("stopped"), "\(service)'s log: \(running.log)")
            }
        } then: {
            for connection in held { await connection.close() }
            await running.process.stop(grace: .seconds(1))
        }
    }

    /// After PostgreSQL and Redis were away for ten seconds and came back, every service —
    /// those with background jobs (booking's lifecycle, the outbox relays, notify's consumer)
    /// and the one holding sockets (notify) — still stops within a few seconds of SIGTERM, exits
    /// 0, and says so in its log.
    @Test func servicesStopPromptlyOnSIGTERMAfterAnOutage() async throws {
        let stop = try TestEnvironment.require("GUILDHALL_TEST_OUTAGE_PG_STOP")
        let start = try TestEnvironment.require("GUILDHALL_TEST_OUTAGE_PG_START")
        let database = try TestEnvironment.require("GUILDHALL_TEST_OUTAGE_DATABASE_URL")
        try await RedisServerProcess.withServer { redis in
            let services = try GuildStack.services.map { try RunningService($0.name, database: database, redis: redis.url) }
            try await withCleanup {
                let notify = try #require(services.first { $0.name == "notify" })
                for service in services {
                    #expect(await service.becomesHealthy(within: .seconds(60)), "\(service.name) did not become healthy")
                }
                // A WebSocket held open on notify through the outage and the shutdown.
                let socket = try await RawConnection(port: notify.port)
                try await socket.send("GET /ws HTTP/1.1\r\nHost: notify\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
                #expect(try await socket.read(until: "\r\n\r\n").hasPrefix("HTTP/1.1 101"))

                #expect(try await runShell(stop) == 0)
                await redis.stop()
                do {
                    // Work that meets the outage: health checks, a database read, the jobs' own loops.
                    let until = ContinuousClock.now + .seconds(10)
                    while ContinuousClock.now < until {
                        for service in services {
                            _ = await service.status(of: service.name == "booking" ? "/api/booking/services" : "/api/\(service.name)/health")
                        }
                        try await Task.sleep(for: .milliseconds(500))
                    }
                }
                #expect(try await runShell(start) == 0)
                try await redis.start()
                for service in services {
                    #expect(await service.becomesHealthy(within: .seconds(30)), "\(service.name) did not recover")
                }

                for service in services { service.process.signal(SIGTERM) }
                for service in services {
                    let began = ContinuousClock.now
                    let ended = await service.process.wait(timeout: .seconds(15))
                    #expect(ended == .exited(0), "\(service.name) after SIGTERM: \(String(describing: ended))")
                    // Nothing is in flight, so a stop needs none of its 5 s grace: past it, something waited it out.
                    #expect(ContinuousClock.now - began < .seconds(5), "\(service.name) took \(ContinuousClock.now - began) to stop")
                    // Its log says it was asked to stop and that it did.
                    #expect(service.output.contains("shutting down"), "\(service.name)'s log: \(service.log)")
                    #expect(service.output.contains("stopped"), "\(service.name)'s log: \(service.log)")
                }
                await socket.close()
            } then: {
                for service in services { await service.process.stop(grace: .seconds(1)) }
            }
        }
    }
}

/// A service's own executable, started for a test on a free port.
struct RunningService: Sendable {
    let name: String
    let port: Int
    let process: ChildProcess
    /// Where its output goes.
    let log: String

    init(_ name: String, database: String, redis: String, logLevel: String = "debug", environment extra: [String] = [], output: String? = nil) throws {
        self.name = name
        self.port = try Loopback.freePort()
        let binary = try TestEnvironment.require("GUILDHALL_BIN_DIR") + "/" + name
        var environment = ChildProcess.currentEnvironment().filter { !$0.hasPrefix("PORT=") && !$0.hasPrefix("INTERNAL_PORT=") }
        environment += [
            "PORT=\(port)", "INTERNAL_PORT=0", "VERIFY_PORT=0", "HOST=127.0.0.1", "LOG_LEVEL=\(logLevel)",
            "DATABASE_URL=\(database)", "REDIS_URL=\(redis)",
            "DATA_DIR=\(FileManager.default.temporaryDirectory.appendingPathComponent("guildhall-sigterm-\(UUID())").path)",
        ]
        // (A later copy of a variable would not override the first.)
        let overridden = Set(extra.compactMap { $0.split(separator: "=").first.map { "\($0)=" } })
        environment = environment.filter { entry in !overridden.contains { entry.hasPrefix($0) } } + extra
        // Beside the run's other logs (kept when a test fails), or in the temporary folder.
        let folder = (try? TestEnvironment.require("GUILDHALL_STACK_ENV")).map { URL(fileURLWithPath: $0).deletingLastPathComponent().appendingPathComponent("logs") }
            ?? FileManager.default.temporaryDirectory
        self.log = output ?? folder.appendingPathComponent("started-\(name)-\(UUID().uuidString.prefix(8)).log").path
        self.process = try ChildProcess([binary], environment: environment, output: log)
    }

    /// Its output so far.
    var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// The status of `GET path`, nil when nothing answered within `timeout`.
    func status(of path: String, timeout: Duration = .seconds(2)) async -> UInt? {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .GET
        guard let response = try? await HTTPClient.shared.execute(request, timeout: TimeAmount(timeout)) else { return nil }
        return response.status.code
    }

    /// Whether its health route answers 200 within `timeout`.
    func becomesHealthy(within timeout: Duration) async -> Bool {
        await eventually(timeout: timeout, every: .milliseconds(200)) { await status(of: "/api/\(name)/health") == 200 }
    }
}

struct Report: Decodable {
    var status: String
    var failing: [String]
    var checks: [String: String]
}
