import Configuration
import GuildCore
import GuildEvents
import GuildRedis
import GuildServiceKit
import Hummingbird
import HummingbirdWebSocket

/// Builds the notify service from configuration (the executable and the tests both call this).
public func buildApplication(reader: ConfigReader) async throws -> some ApplicationProtocol {
    let dependencies = try ServiceDependencies(.notify, reader: reader)
    let live = LiveConnections()
    let inbox = NotificationRepository(database: dependencies.database)

    let webSocketRouter = Router(context: BasicWebSocketRequestContext.self)
    WebSocketController(verifier: dependencies.verifier, live: live).addRoutes(to: webSocketRouter)

    let fanout = RedisSubscriber(
        configuration: dependencies.redisConfiguration, channels: [LiveConnections.channel], logger: dependencies.logger
    ) { message in
        live.deliver(message)
    }
    let consumer = EventConsumer(
        group: "notify",
        redis: dependencies.redisConfiguration,
        postgres: dependencies.postgres,
        logger: dependencies.logger,
        handlers: [EventType.userCreated: UserCreatedHandler.handler(redis: dependencies.redis)]
    )
    return buildGuildApplication(
        dependencies,
        // Frames up to 64 KiB (a ticket message is at most 4000 characters); a ping every
        // 30 s closes connections whose client has gone.
        server: .http1WebSocketUpgrade(
            webSocketRouter: webSocketRouter,
            configuration: .init(ws: .init(maxFrameSize: 64 * 1024, autoPing: .enabled(timePeriod: .seconds(30))))
        ),
        routes: { routes in
            routes.signedIn("/api/notifications", NotificationsController(repository: inbox).endpoints)
        },
        jobs: [fanout, consumer]
    )
}
