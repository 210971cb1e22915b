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
    let settings = dependencies.settings
    let ticketsURL = try settings.required("tickets.internal.url", environment: "TICKETS_INTERNAL_URL", development: "http://127.0.0.1:8183", reader: reader)
    let live = LiveConnections()
    let rooms = TicketRooms(live: live, redis: dependencies.redis)
    let inbox = NotificationRepository(database: dependencies.database)
    let tickets = TicketsRoomClient(tickets: InternalClient(service: "tickets", baseURL: ticketsURL, secret: settings.internalSecret))
    let push = try await PushNotifications(dependencies: dependencies, reader: reader)
    let bot = try BotLink(dependencies: dependencies, reader: reader)

    // `/ws` and `/socket.io/`: two gateways driving one live session (Live/LiveSession.swift).
    let hub = LiveHub(verifier: dependencies.verifier, live: live, rooms: rooms, tickets: tickets)
    let engineSessions = EngineSessions(
        replica: EngineSessions.replicaId(configured: reader.string(forKey: "notify.replica.id")), logger: dependencies.logger
    )
    let socketIO = SocketIOController(hub: hub, sessions: engineSessions)
    let webSocketRouter = Router(context: LiveWebSocketContext.self)
    WebSocketController(hub: hub).addRoutes(to: webSocketRouter)
    socketIO.addRoutes(to: webSocketRouter)

    // Frames for users, and the tickets service's events for its rooms, reach every replica.
    let roomChannels = TicketRooms.eventTypes.map(EventChannels.channel(for:))
    let fanout = RedisSubscriber(
        configuration: dependencies.redisConfiguration, channels: [LiveConnections.channel] + roomChannels, logger: dependencies.logger
    ) { message in
        if message.channel == LiveConnections.channel {
            live.deliver(message)
        } else if let event = try? EventEnvelope.parse(message.payload) {
            rooms.deliver(event)
        }
    }
    let consumer = EventConsumer(
        group: "notify",
        redis: dependencies.redisConfiguration,
        postgres: dependencies.postgres,
        logger: dependencies.logger,
        handlers: [
            EventType.userCreated: UserCreatedHandler.handler(redis: dependencies.redis),
            EventType.ticketMessageCreated: TicketReplyHandler.handler(redis: dependencies.redis, rooms: rooms),
            EventType.levelUp: LevelingHandler.handler(users: dependencies.users, redis: dependencies.redis),
            EventType.bookingStarted: BookingHandler.handler(redis: dependencies.redis),
            EventType.bookingEnded: BookingHandler.handler(redis: dependencies.redis),
            EventType.toolUnlocked: LevelingHandler.handler(users: dependencies.users, redis: dependencies.redis),
        ],
        wants: { $0.type != EventType.ticketMessageCreated || TicketReplyHandler.concerns($0) }
    )
    return buildGuildApplication(
        dependencies,
        // Frames up to 1 MiB (each gateway has a smaller limit of its own: `/ws` 64 KiB,
        // socket.io 1 MB); a ping every 30 s closes connections whose client has gone.
        server: .http1WebSocketUpgrade(
            webSocketRouter: webSocketRouter,
            configuration: .init(ws: .init(maxFrameSize: LiveWebSocketContext.maxFrameSize, autoPing: .enabled(timePeriod: .seconds(30))))
        ),
        health: [push.health, bot.health],
        routes: { routes in
            routes.signedIn("/api/notifications", push.endpoints)
            routes.signedIn("/api/notifications", NotificationsController(repository: inbox, redis: dependencies.redis).endpoints)
            routes.open("/socket.io", socketIO.endpoints)
        },
        internalRoutes: { internalRoutes in
            internalRoutes.addRoutes(BotNotifyController(users: dependencies.users, database: dependencies.database, redis: dependencies.redis).endpoints)
        },
        jobs: [fanout, consumer, PresenceRefresher(rooms: rooms), engineSessions] + push.jobs + bot.jobs
    )
}
