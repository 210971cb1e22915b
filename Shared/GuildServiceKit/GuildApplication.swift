import GuildClients
import GuildEvents
import GuildRedis
import Hummingbird
import HummingbirdCore
import NIOCore
import ServiceLifecycle

/// Builds the public listener's server from the channel handlers every HTTP connection gets
/// (``ClosingOnShutdown``): `.http1`, or `.http1WebSocketUpgrade` for a service with WebSockets.
public typealias ServerBuilding = (_ handlers: @escaping @Sendable () -> [any RemovableChannelHandler]) -> HTTPServerBuilder

/// How a service gets the public keys that verify access tokens.
public enum KeySource: Sendable {
    /// Fetch them from `JWKS_URL` (every service but auth).
    case jwks
    /// The service adds them itself (auth, which holds the signing key).
    case local
}

/// Builds a service the way every Guildhall service is built, from its descriptor (in
/// `dependencies.service`) and what only it has:
///
/// - the public listener on `PORT` with ``GuildMiddleware``, `GET /api/<name>/health` (with
///   `health`'s components reported beside the dependencies), the service's routes (each
///   group public or for signed-in callers) and `405` for wrong methods;
/// - the private listener on `INTERNAL_PORT` with `/metrics` (or `/metrics` alone on
///   `METRICS_PORT` when that is set), and behind the shared secret
///   `/internal/health`, `/internal/routes` (every route of both listeners, with its visibility) and the
///   service's own `/internal/*` routes;
/// - the shared tables and the service's migrations applied before the public listener opens
///   (retried until PostgreSQL answers), then `afterMigrations`;
/// - the services in start order `[postgres, redis, keys, outbox relay, event publisher, <jobs>, internal listener]`,
///   stopped in reverse on SIGTERM after the public listener has drained; jobs start only once
///   the schema is migrated.
public func buildGuildApplication(
    _ dependencies: ServiceDependencies,
    keys: KeySource = .jwks,
    server: ServerBuilding = { .http1(configuration: .init(additionalChannelHandlers: $0())) },
    health: [HealthComponent] = [],
    routes: (ServiceRoutes) -> Void,
    internalRoutes: (RouterGroup<GuildRequestContext>) -> Void = { _ in },
    jobs: [any Service] = [],
    afterMigrations: @escaping @Sendable () async throws -> Void = {}
) -> some ApplicationProtocol {
    let settings = dependencies.settings
    let logger = dependencies.logger

    let router = Router(context: GuildRequestContext.self)
    router.add(middleware: GuildMiddleware(verifier: dependencies.verifier, service: settings.name))
    let cache = PublicReadCache(service: settings.name)
    router.add(middleware: ClearCacheOnWriteMiddleware(cache: cache, redis: dependencies.redis))
    let serviceRoutes = ServiceRoutes(router: router, cache: cache)
    serviceRoutes.recordingPublic { router in
        HealthCheck(settings: settings, postgres: dependencies.postgres, redis: dependencies.redis, components: health).addRoute(to: router)
    }
    routes(serviceRoutes)
    let listing = serviceRoutes.listing
    router.answerUnsupportedMethodsWith405()

    let internalRouter = Router(context: GuildRequestContext.self)
    internalRouter.add(middleware: GuildMiddleware(verifier: nil, service: settings.name))
    var metricsApplication: (any Service)?
    if let metricsPort = settings.metricsPort {
        let metricsRouter = Router(context: GuildRequestContext.self)
        metricsRouter.add(middleware: GuildMiddleware(verifier: nil, service: settings.name))
        GuildMetrics.addRoute(to: metricsRouter)
        metricsRouter.answerUnsupportedMethodsWith405()
        metricsApplication = Application(
            router: metricsRouter,
            configuration: .init(address: .hostname(settings.host, port: metricsPort), serverName: nil),
            logger: logger
        )
    } else {
        GuildMetrics.addRoute(to: internalRouter)
    }
    let secured = internalRouter.group("internal").add(middleware: InternalSecretMiddleware(secret: settings.internalSecret))
    secured.get("health") { _, _ in
        InternalHealth(status: "ok", service: settings.name, version: settings.version)
    }
    internalRoutes(secured)
    let everyRoute = listing + RouteListing.privateListener(internalRouter, adding: [("GET", "/internal/routes")])
    secured.get("routes") { _, _ in everyRoute }
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
    if cache.isUsed { backgroundServices.append(cache.listener(redis: dependencies.redisConfiguration, logger: logger)) }
    backgroundServices.append(AfterMigrations(relay, ready: dependencies.ready))
    backgroundServices.append(dependencies.events)
    backgroundServices.append(contentsOf: jobs.map { AfterMigrations($0, ready: dependencies.ready) as any Service })
    backgroundServices.append(internalApplication)
    if let metricsApplication { backgroundServices.append(metricsApplication) }

    let closeOnShutdown = ClosingOnShutdown.limit(grace: settings.shutdownGrace)
    var application = Application(
        router: router,
        server: server { [ClosingOnShutdown(limit: closeOnShutdown)] },
        // A queue of pending connections as long as the kernel allows (net.core.somaxconn caps
        // it): a burst of connects (clients reconnecting after a rolling restart, thousands of
        // sockets at once) waits to be accepted instead of having its SYNs dropped, which nginx
        // would see as connect timeouts and take the replica out.
        configuration: .init(address: .hostname(settings.host, port: settings.port), serverName: nil, backlog: ServiceSettings.listenBacklog),
        services: backgroundServices.map { Watched($0) as any Service },
        onServerRunning: { channel in
            try? await channel.pipeline.addHandler(AcceptedConnections(), position: .first)
        },
        logger: logger
    )
    application.beforeServerStarts {
        try await migrateUntilDone(dependencies.service.migrations, dependencies: dependencies)
        try await afterMigrations()
    }
    return application
}

/// `GET /internal/health`.
struct InternalHealth: ResponseEncodable {
    var status: String
    var service: String
    var version: String
}

