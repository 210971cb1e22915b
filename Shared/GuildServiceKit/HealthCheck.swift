import GuildConcurrency
import GuildRedis
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO

/// The body of `GET /api/<service>/health`.
public struct HealthReport: ResponseEncodable, Decodable, Sendable, Equatable {
    /// `ok` or `degraded`.
    public var status: String
    /// The service name.
    public var service: String
    /// Its version.
    public var version: String
    /// Each dependency: `ok` or `down`.
    public var checks: [String: String]
    /// The dependencies that are down.
    public var failing: [String]
}

/// Checks the service's real dependencies, each with its own deadline, both at once.
public struct HealthCheck: Sendable {
    let settings: ServiceSettings
    let postgres: PostgresClient
    let redis: RedisClient
    let deadline: Duration

    /// Creates the check.
    public init(settings: ServiceSettings, postgres: PostgresClient, redis: RedisClient, deadline: Duration = .milliseconds(1500)) {
        self.settings = settings
        self.postgres = postgres
        self.redis = redis
        self.deadline = deadline
    }

    /// Runs the checks.
    public func report(logger: Logger) async -> HealthReport {
        async let database: Bool = probe { [postgres] in try await postgres.query("SELECT 1", logger: logger) }
        async let cache: Bool = probe { [redis] in try await redis.ping() }
        let checks = ["postgres": await database ? "ok" : "down", "redis": await cache ? "ok" : "down"]
        let failing = checks.filter { $0.value != "ok" }.map(\.key).sorted()
        return HealthReport(status: failing.isEmpty ? "ok" : "degraded", service: settings.name, version: settings.version, checks: checks, failing: failing)
    }

    private func probe<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async -> Bool {
        do {
            _ = try await withDeadline(deadline, operation)
            return true
        } catch {
            return false
        }
    }

    /// Adds `GET /api/<service>/health`: 200 when all is well, 503 with `Retry-After` when not.
    public func addRoute(to router: Router<GuildRequestContext>) {
        router.get("/api/\(settings.name)/health") { request, context -> Response in
            let report = await report(logger: context.logger)
            var response = try context.responseEncoder.encode(report, from: request, context: context)
            if report.status != "ok" {
                response.status = .serviceUnavailable
                response.headers[.retryAfter] = "5"
            }
            return response
        }
    }
}
