import GuildConcurrency
import GuildRedis
import HTTPTypes
import Hummingbird
import GuildPostgres
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
    /// What the service reports of its own optional parts (`"push": "off"`), by name; these
    /// never make the service degraded. Empty for a service that reports none.
    public var components: [String: String] = [:]
}

extension HealthReport {
    /// Reads a report; one from a service that reports no components may leave them out.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        status = try container.decode(String.self, forKey: .status)
        service = try container.decode(String.self, forKey: .service)
        version = try container.decode(String.self, forKey: .version)
        checks = try container.decode([String: String].self, forKey: .checks)
        failing = try container.decode([String].self, forKey: .failing)
        components = try container.decodeIfPresent([String: String].self, forKey: .components) ?? [:]
    }
}

/// A named part of a service that health reports on beside the dependencies, such as push
/// being `on` or `off`. Its answer is shown as it is and never makes the service degraded.
public struct HealthComponent: Sendable {
    /// The key in the report's `components`.
    public var name: String
    /// Says how the part is (`on`, `off` …); called on every health request, so it must be quick.
    public var report: @Sendable () async -> String

    /// Creates a component.
    public init(_ name: String, report: @escaping @Sendable () async -> String) {
        self.name = name
        self.report = report
    }
}

/// Checks the service's real dependencies, each with its own deadline, both at once.
public struct HealthCheck: Sendable {
    let settings: ServiceSettings
    let postgres: PostgresPool
    let redis: RedisClient
    let deadline: Duration
    let components: [HealthComponent]

    /// Creates the check; `components` are reported beside the dependencies.
    public init(
        settings: ServiceSettings, postgres: PostgresPool, redis: RedisClient, deadline: Duration = .milliseconds(1500),
        components: [HealthComponent] = []
    ) {
        self.settings = settings
        self.postgres = postgres
        self.redis = redis
        self.deadline = deadline
        self.components = components
    }

    /// Runs the checks.
    public func report(logger: Logger) async -> HealthReport {
        async let database: Bool = postgres.isReachable ? probe { [postgres] in try await postgres.execute("SELECT 1", logger: logger) } : false
        async let cache: Bool = probe { [redis] in try await redis.ping() }
        let checks = ["postgres": await database ? "ok" : "down", "redis": await cache ? "ok" : "down"]
        let failing = checks.filter { $0.value != "ok" }.map(\.key).sorted()
        var parts: [String: String] = [:]
        for component in components { parts[component.name] = await component.report() }
        return HealthReport(
            status: failing.isEmpty ? "ok" : "degraded", service: settings.name, version: settings.version, checks: checks, failing: failing,
            components: parts
        )
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
