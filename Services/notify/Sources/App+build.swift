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

    let webSocketRouter = Router(context: BasicWebSocketRequestContext.self)
    WebSocketController(verifier: dependencies.verifier, live: live, rooms: rooms, tickets: tickets).addRoutes(to: webSocketRouter)

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
            EventType.toolUnlocked: LevelingHandler.handler(users: dependencies.users, redis: dependencies.redis),
        ],
        wants: { $0.type != EventType.ticketMessageCreated || TicketReplyHandler.concerns($0) }
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
        jobs: [fanout, consumer, PresenceRefresher(rooms: rooms)]
    )
}
