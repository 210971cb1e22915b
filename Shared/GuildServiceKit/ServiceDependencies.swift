import Configuration
import GuildAuth
import GuildClients
import GuildConcurrency
import GuildEvents
import GuildRedis
import GuildPostgres
import Logging
import PostgresNIO

/// What a service's handlers and background jobs share: settings, logger and the clients.
///
/// The clients are `Service`s; ``buildGuildApplication(_:keys:server:health:routes:internalRoutes:jobs:afterMigrations:)``
/// runs them in the service group, first to start and last to stop.
public struct ServiceDependencies: Sendable {
    /// The settings read at start.
    public let settings: ServiceSettings
    /// The service's descriptor.
    public var service: ServiceDescriptor { settings.service }
    /// The service's logger.
    public let logger: Logger
    /// The PostgreSQL pool, pinned to the service's schema and watched for outages.
    public let postgres: PostgresPool
    /// The same client with deadlines, for request handlers.
    public let database: Database
    /// Where Redis is.
    public let redisConfiguration: RedisConfiguration
    /// The Redis command client.
    public let redis: RedisClient
    /// Publishes events handed over at commit (``GuildEvents/Outbox/write(_:on:logger:handedOver:)``).
    public let events: EventPublisher
    /// Verifies access tokens.
    public let verifier: TokenVerifier
    /// Asks auth about accounts.
    public let users: UserDirectory
    /// Set once the schema is migrated; background jobs wait for it.
    public let ready: ReadySignal

    /// Reads the common settings of `service` and creates its clients.
    public init(_ service: ServiceDescriptor, reader: ConfigReader) throws {
        try self.init(settings: ServiceSettings(service, reader: reader))
    }

    /// Creates the clients (nothing connects until the group runs).
    /// With `revocations`, the verifier also refuses tokens of revoked sessions and disabled users.
    public init(settings: ServiceSettings, revocations: RevocationList? = nil) throws {
        GuildLogging.bootstrap(format: settings.logFormat, level: settings.logLevel)
        GuildMetrics.bootstrap()
        var logger = Logger(label: "guildhall.\(settings.name)")
        logger.logLevel = settings.logLevel
        self.settings = settings
        self.logger = logger
        self.postgres = PostgresPool(
            client: try .init(url: settings.databaseURL, schema: settings.name),
            watch: try .init(url: settings.databaseURL, schema: settings.name),
            eventLoopGroup: EventLoopsInTurn.shared,
            logger: logger
        )
        self.database = Database(source: postgres)
        self.redisConfiguration = try RedisConfiguration(url: settings.redisURL)
        self.redis = RedisClient(configuration: redisConfiguration, logger: logger)
        self.events = EventPublisher(postgres: postgres, redis: redis, logger: logger)
        self.verifier = TokenVerifier(policy: settings.tokenPolicy, revocations: revocations)
        self.users = UserDirectory(baseURL: settings.authInternalURL, secret: settings.internalSecret)
        self.ready = ReadySignal()
    }
}
