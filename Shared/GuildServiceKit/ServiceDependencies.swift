import Configuration
import GuildAuth
import GuildRedis
import Dispatch
import Logging
import NIOPosix
import PostgresNIO
import Synchronization

/// What a service's handlers and background jobs share: settings, logger and the clients.
///
/// The clients are `Service`s; ``buildGuildApplication(_:keys:server:routes:internalRoutes:jobs:afterMigrations:)``
/// runs them in the service group, first to start and last to stop.
public struct ServiceDependencies: Sendable {
    /// The settings read at start.
    public let settings: ServiceSettings
    /// The service's descriptor.
    public var service: ServiceDescriptor { settings.service }
    /// The service's logger.
    public let logger: Logger
    /// The PostgreSQL client, pinned to the service's schema.
    public let postgres: PostgresClient
    /// The same client with deadlines, for request handlers.
    public let database: Database
    /// Where Redis is.
    public let redisConfiguration: RedisConfiguration
    /// The Redis command client.
    public let redis: RedisClient
    /// Verifies access tokens.
    public let verifier: TokenVerifier
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
        self.postgres = PostgresClient(
            configuration: try .init(url: settings.databaseURL, schema: settings.name), eventLoopGroup: EventLoopsInTurn.shared, backgroundLogger: logger
        )
        self.database = Database(client: postgres)
        self.redisConfiguration = try RedisConfiguration(url: settings.redisURL)
        self.redis = RedisClient(configuration: redisConfiguration, logger: logger)
        self.verifier = TokenVerifier(policy: settings.tokenPolicy, revocations: revocations)
        self.ready = ReadySignal()
    }
}

/// A flag that opens once; waiters poll it so they stay cancellable.
public final class ReadySignal: Sendable {
    private let state = Atomic(false)

    /// Creates a closed signal.
    public init() {}

    /// Opens the signal.
    public func open() { state.store(true, ordering: .releasing) }

    /// Whether it is open.
    public var isOpen: Bool { state.load(ordering: .acquiring) }

    /// Waits until it opens; throws `CancellationError` if cancelled first.
    public func wait() async throws {
        while !isOpen { try await Task.sleep(for: .milliseconds(50)) }
    }
}

/// The process's event loops, handed out strictly in turn.
///
/// PostgresNIO opens each pooled connection on `any()`, which, asked from an event loop, answers
/// that same loop. With tasks running on the event loops (see ``runGuildService(_:)``) every
/// connection would then sit on one loop, and every handler would continue there after its first
/// query: one busy thread and one idle one. Handing loops out in turn spreads them.
final class EventLoopsInTurn: EventLoopGroup, Sendable {
    static let shared = EventLoopsInTurn(MultiThreadedEventLoopGroup.singleton)
    private let base: MultiThreadedEventLoopGroup

    init(_ base: MultiThreadedEventLoopGroup) { self.base = base }

    func next() -> any EventLoop { base.next() }
    func any() -> any EventLoop { base.next() }
    func makeIterator() -> EventLoopIterator { base.makeIterator() }
    func shutdownGracefully(queue: DispatchQueue, _ callback: @escaping @Sendable ((any Error)?) -> Void) {
        base.shutdownGracefully(queue: queue, callback)
    }
}
