import AsyncHTTPClient
import Foundation
import GuildTestSupport
import NIOCore
import Testing

/// With `METRICS_PORT`, `/metrics` has a listener of its own and is gone from the private one, so a
/// network policy can open the metrics to Prometheus without opening `/internal/*` to it.
@Suite("metrics on a listener of their own", .watched)
struct MetricsListenerTests {
    @Test func metricsMoveToTheirOwnPortAndNothingElseIsThere() async throws {
        let internalPort = try Loopback.freePort()
        let metricsPort = try Loopback.freePort()
        let service = try RunningService(
            "booking", database: try TestEnvironment.databaseURL(), redis: try TestEnvironment.redisURL(), logLevel: "info",
            environment: ["INTERNAL_PORT=\(internalPort)", "METRICS_PORT=\(metricsPort)"]
        )
        try await withCleanup {
            #expect(await service.becomesHealthy(within: .seconds(60)), "booking did not start: \(service.output.suffix(2_000))")
            let metrics = try await Self.get("http://127.0.0.1:\(metricsPort)/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.body.contains("# TYPE "), "no Prometheus text on the metrics port: \(metrics.body.prefix(300))")
            #expect(try await Self.get("http://127.0.0.1:\(metricsPort)/internal/health").status == 404)
            #expect(try await Self.get("http://127.0.0.1:\(internalPort)/metrics").status == 404)
            // The private listener is still there, behind its secret.
            #expect(try await Self.get("http://127.0.0.1:\(internalPort)/internal/health").status == 401)
        } then: {
            await service.process.stop(grace: .seconds(10))
        }
    }

    static func get(_ url: String) async throws -> (status: UInt, body: String) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 4 << 20)
        return (response.status.code, String(buffer: body))
    }
}
