import Configuration
import GuildAuth
import GuildClients
import GuildConcurrency
import GuildCore
import GuildEvents
import GuildLive
import GuildRedis
import GuildServiceKit
import Hummingbird
import HummingbirdWebSocket

/// Builds the notify service from configuration (the executable and the tests both call this).
public func buildApplication(reader: ConfigReader) async throws -> some ApplicationProtocol {
    // Live connections check tokens here (socket.io's come in a packet nginx cannot read), so
    // notify keeps the revocations too, and ends the connections of whatever is revoked.
    let notify = try NotifySettings(reader: reader)
    let settings = notify.service
    // A revoked session is remembered for a day: far longer than an access token lives
    // (ACCESS_TOKEN_TTL, 15 minutes by default), without knowing auth's setting.
    let revocations = RevocationList(retention: 24 * 3600)
    let dependencies = try ServiceDependencies(settings: settings, revocations: revocations)
    let live = LiveConnections()
    let rooms = TicketRooms(live: live, redis: dependencies.redis)
    let tickets = TicketsRoomClient(tickets: InternalClient(service: "tickets", baseURL: notify.ticketsURL, secret: settings.internalSecret))
    let push = await PushNotifications(dependencies: dependencies, settings: notify.push)
    let bot = BotLink(dependencies: dependencies, settings: notify.bot)
    // Every inbox entry is also queued for the user's phones and for Discord, as configured.
    let inbox = NotificationRepository(database: dependencies.database, push: push.queue, bot: bot.messages)

    // `/ws` and `/socket.io/`: two gateways driving one live session (Live/LiveSession.swift).
    let revocationsLoaded = ReadySignal()
    let revocationFeed = RevocationFeed(
        list: revocations, redis: dependencies.redisConfiguration, authInternalURL: settings.authInternalURL, secret: settings.internalSecret,
        loaded: revocationsLoaded, logger: dependencies.logger,
        onRevocation: { live.end($0) },
        onReload: { live.endRevoked { revocations.isRevoked(sessionId: $0.sessionId, userId: $0.userId) } }
    )
    let hub = LiveHub(verifier: dependencies.verifier, revocationsLoaded: revocationsLoaded, live: live, rooms: rooms, tickets: tickets)
    let engineSessions = EngineSessions(replica: notify.replicaId, namespace: LiveNamespace(hub: hub), logger: dependencies.logger)
    let socketIO = SocketIOGateway(sessions: engineSessions)
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
            EventType.userCreated: UserCreatedHandler.handler(inbox: inbox, redis: dependencies.redis),
            EventType.ticketMessageCreated: TicketReplyHandler.handler(inbox: inbox, redis: dependencies.redis, rooms: rooms),
            EventType.levelUp: LevelingHandler.handler(inbox: inbox, users: dependencies.users, redis: dependencies.redis),
            EventType.bookingStarted: BookingHandler.handler(inbox: inbox, redis: dependencies.redis),
            EventType.bookingEnded: BookingHandler.handler(inbox: inbox, redis: dependencies.redis),
            EventType.toolUnlocked: LevelingHandler.handler(inbox: inbox, users: dependencies.users, redis: dependencies.redis),
        ],
        wants: { $0.type != EventType.ticketMessageCreated || TicketReplyHandler.concerns($0) }
    )
    return buildGuildApplication(
        dependencies,
        // Frames up to 1 MiB (each gateway has a smaller limit of its own: `/ws` 64 KiB,
        // socket.io 1 MB); a ping every 30 s closes connections whose client has gone.
        server: { handlers in
            .http1WebSocketUpgrade(
                webSocketRouter: webSocketRouter,
                configuration: .init(
                    http1: .init(additionalChannelHandlers: handlers()),
                    ws: .init(maxFrameSize: LiveWebSocketContext.maxFrameSize, autoPing: .enabled(timePeriod: .seconds(30)))
                )
            )
        },
        health: [push.health, bot.health],
        routes: { routes in
            let inboxRoutes = NotificationsController(repository: inbox, redis: dependencies.redis)
            routes.signedIn("/api/notifications", push.controller.endpoints, inboxRoutes.endpoints)
            routes.signedIn("/api/notifications", push.controller.adminEndpoints, inboxRoutes.adminEndpoints)
            routes.signedIn("/api/notifications", StatsController(database: dependencies.database, redis: dependencies.redis).staffEndpoints)
            routes.open("/socket.io", socketIO.endpoints)
        },
        internalRoutes: { internalRoutes in
            internalRoutes.addRoutes(BotNotifyController(users: dependencies.users, inbox: inbox, redis: dependencies.redis).endpoints)
        },
        jobs: [
            revocationFeed, live, fanout, consumer, PresenceRefresher(rooms: rooms), engineSessions,
            LiveCountReporter(live: live, replicaId: notify.replicaId, redis: dependencies.redis, logger: dependencies.logger),
        ] + push.jobs + bot.jobs
    )
}
