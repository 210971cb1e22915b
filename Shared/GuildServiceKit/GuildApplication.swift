import AsyncHTTPClient
import Foundation
import GuildAuth
import GuildCore
import GuildEvents
import GuildMigrations
import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle

/// How a service gets the public keys that verify access tokens.
public enum KeySource: Sendable {
    /// Fetch them from `JWKS_URL` (every service but auth).
    case jwks
    /// The service adds them itself (auth, which holds the signing key).
    case local
}

/// Builds a service the way every Guildhall service is built:
///
/// - the public listener on `PORT` with ``GuildMiddleware``, `GET /api/<name>/health`, the service's
///   routes and `405` for wrong methods;
/// - the private listener on `INTERNAL_PORT` with `/metrics` and the `/internal/*` routes behind the
///   shared secret;
/// - migrations applied before the public listener opens (retried until PostgreSQL answers);
/// - the services in start order `[postgres, redis, keys, outbox relay, <the service's own>, internal listener]`,
///   stopped in reverse on SIGTERM after the public listener has drained.
public func buildGuildApplication(
    _ dependencies: ServiceDependencies,
    migrations: MigrationRunner,
    keys: KeySource = .jwks,
    server: HTTPServerBuilder = .http1(),
    routes: (Router<GuildRequestContext>) -> Void,
    internalRoutes: (Router<GuildRequestContext>) -> Void = { _ in },
    services: [any Service] = [],
    afterMigrations: @escaping @Sendable () async throws -> Void = {}
) -> some ApplicationProtocol {
    let settings = dependencies.settings
    let logger = dependencies.logger

    let router = Router(context: GuildRequestContext.self)
    router.add(middleware: GuildMiddleware(verifier: dependencies.verifier, service: settings.name))
    HealthCheck(settings: settings, postgres: dependencies.postgres, redis: dependencies.redis).addRoute(to: router)
    routes(router)
    router.answerUnsupportedMethodsWith405()

    let internalRouter = Router(context: GuildRequestContext.self)
    internalRouter.add(middleware: GuildMiddleware(verifier: nil, service: settings.name))
    GuildMetrics.addRoute(to: internalRouter)
    let secured = internalRouter.group("internal").add(middleware: InternalSecretMiddleware(secret: settings.internalSecret))
    secured.get("health") { _, _ in
        InternalHealth(status: "ok", service: settings.name, version: settings.version)
    }
    internalRoutes(internalRouter)
    internalRouter.answerUnsupportedMethodsWith405()
    let internalApplication = Application(
        router: internalRouter,
        configuration: .init(address: .hostname(settings.host, port: settings.internalPort), serverName: nil),
        logger: logger
    )

    var backgroundServices: [any Service] = [dependencies.postgres, dependencies.redis]
    if case .jwks = keys {
        backgroundServices.append(JWKSLoader(url: settings.jwksURL, verifier: dependencies.verifier, logger: logger))
    }
    let relay = OutboxRelay(postgres: dependencies.postgres, redis: dependencies.redis, logger: logger)
    backgroundServices.append(AfterMigrations(relay, ready: dependencies.ready))
    backgroundServices.append(contentsOf: services.map { AfterMigrations($0, ready: dependencies.ready) as any Service })
    backgroundServices.append(internalApplication)

    var application = Application(
        router: router,
        server: server,
        configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: nil),
        services: backgroundServices,
        logger: logger
    )
    application.beforeServerStarts {
        try await migrateUntilDone(migrations, dependencies: dependencies)
        try await afterMigrations()
    }
    return application
}

/// Applies migrations, retrying with backoff while PostgreSQL is unreachable, then opens `ready`.
///
/// A SIGTERM while it waits ends the wait: the service stops instead of retrying forever.
public func migrateUntilDone(_ migrations: MigrationRunner, dependencies: ServiceDependencies) async throws {
    try await retryUntilDone("waiting for PostgreSQL to apply migrations", logger: dependencies.logger) {
        try await migrations.run(on: dependencies.postgres, logger: dependencies.logger)
    }
    dependencies.ready.open()
}

/// Runs `operation` until it succeeds, logging `waiting` and backing off (250 ms doubling to 5 s)
/// after each failure. A SIGTERM while it waits ends the wait with `CancellationError`.
public func retryUntilDone(_ waiting: String, logger: Logger, _ operation: @escaping @Sendable () async throws -> Void) async throws {
    try await cancelWhenGracefulShutdown {
        var backoff = Duration.milliseconds(250)
        while true {
            do {
                return try await operation()
            } catch {
                try Task.checkCancellation()
                logger.warning("\(waiting)", metadata: ["error": "\(String(reflecting: error))"])
                try await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }
}

/// `GET /internal/health`.
struct InternalHealth: ResponseEncodable {
    var status: String
    var service: String
    var version: String
}

/// Runs a service only after the schema is migrated.
struct AfterMigrations: Service {
    let service: any Service
    let ready: ReadySignal

    init(_ service: any Service, ready: ReadySignal) {
        self.service = service
        self.ready = ready
    }

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await ready.wait() }
        } catch is CancellationError {
            return
        }
        try await service.run()
    }
}

/// Lets through only callers that present `Authorization: Bearer <INTERNAL_API_SECRET>`.
public struct InternalSecretMiddleware: RouterMiddleware {
    /// The context it works on.
    public typealias Context = GuildRequestContext
    private let expected: [UInt8]

    /// Creates the middleware.
    public init(secret: String) { self.expected = Array("Bearer \(secret)".utf8) }

    /// Refuses with 401 unless the secret matches (compared in constant time).
    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let presented = Array((request.headers[.authorization] ?? "").utf8)
        var difference = UInt8(presented.count == expected.count ? 0 : 1)
        for index in 0..<min(presented.count, expected.count) { difference |= presented[index] ^ expected[index] }
        guard difference == 0 else { throw APIError.unauthorized("the internal API secret is required") }
        return try await next(request, context)
    }
}

/// Loads the JWKS from auth at start (retrying until it answers) and refreshes it every five minutes.
public struct JWKSLoader: Service {
    let url: String
    let verifier: TokenVerifier
    let logger: Logger

    /// Creates the loader.
    public init(url: String, verifier: TokenVerifier, logger: Logger) {
        self.url = url
        self.verifier = verifier
        self.logger = logger
    }

    /// Loads until graceful shutdown.
    public func run() async throws {
        await cancelWhenGracefulShutdown { await loadLoop() }
    }

    private func loadLoop() async {
        var backoff = Duration.milliseconds(200)
        while !Task.isCancelled {
            do {
                var request = HTTPClientRequest(url: url)
                request.method = .GET
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
                guard response.status == .ok else { throw APIError.unavailable("auth JWKS (HTTP \(response.status.code))") }
                let body = try await response.body.collect(upTo: 256 * 1024)
                try await verifier.add(jwksJSON: String(buffer: body))
                backoff = .milliseconds(200)
                try await Task.sleep(for: .seconds(300))
            } catch {
                if Task.isCancelled { return }
                logger.warning("could not load JWKS; retrying", metadata: ["url": "\(url)", "error": "\(error)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }
}
