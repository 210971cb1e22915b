import Configuration
import GuildClients
import GuildConcurrency
import GuildCore
import GuildEvents
import GuildServiceKit
import Hummingbird

/// Builds the leveling service from configuration (the executable and the tests both call this).
public func buildApplication(reader: ConfigReader) async throws -> some ApplicationProtocol {
    let dependencies = try ServiceDependencies(.leveling, reader: reader)
    let settings = try LevelingSettings(reader: reader)
    let logger = dependencies.logger
    let config = RuntimeSettings(
        database: dependencies.database, defaults: LevelingConfig(rules: settings.rules, rewards: settings.roleRewards),
        changeEvent: EventType.levelingConfigChanged
    )
    let profiles = LevelingRepository(database: dependencies.database, curve: settings.curve, config: config)
    let leaderboard = Leaderboard(redis: dependencies.redis, profiles: profiles, logger: logger)
    let standings = Standings(profiles: profiles, leaderboard: leaderboard, curve: settings.curve)
    let tools = ToolRepository(database: dependencies.database)
    // Without a bot, role rewards are not queued at all.
    // A role update the bot did not take is tried again after 1 s, 2 s, 4 s … (with jitter) up to the cap.
    let rewards = RewardQueue(
        database: dependencies.database, curve: settings.curve, config: settings.botURL == nil ? nil : config,
        retries: Backoff(initial: .seconds(1), cap: settings.botRetryCap, jitter: true)
    )
    let members = MemberLookup(users: dependencies.users)
    let bot = settings.botURL.map { BotClient(baseURL: $0, secret: dependencies.settings.internalSecret) }

    let profileRoutes = ProfilesController(
        profiles: profiles, standings: standings, leaderboard: leaderboard, members: members, config: config, curve: settings.curve
    )
    let toolRoutes = ToolsController(tools: tools, profiles: profiles, members: members, curve: settings.curve)
    let adminRoutes = AdminController(profiles: profiles, standings: standings, leaderboard: leaderboard, curve: settings.curve)

    return buildGuildApplication(
        dependencies,
        routes: { routes in
            // The leaderboard tells a signed-in member their own place.
            routes.open("/api/leveling", variesByCaller: true, cached: profileRoutes.publicEndpoints)
            routes.open("/api/leveling", toolRoutes.publicEndpoints)
            routes.signedIn("/api/leveling", profileRoutes.endpoints, toolRoutes.endpoints)
            routes.signedIn("/api/leveling", adminRoutes.endpoints, toolRoutes.adminEndpoints)
            // Admins change the settings; moderators read them too.
            routes.signedIn("/api/leveling", config.changeEndpoint("config") { try $0.checked(maximumLevel: settings.curve.maximumLevel) })
            routes.signedIn("/api/leveling", config.readEndpoints("config", context: StaffContext.self), StatsController(database: dependencies.database, curve: settings.curve).staffEndpoints)
        },
        internalRoutes: { internalRoutes in
            internalRoutes.addRoutes(BotEventsController(profiles: profiles, leaderboard: leaderboard).endpoints)
        },
        jobs: [
            // A member who joins the Discord server has a profile (and a place on the leaderboard) from then on.
            EventConsumer(
                group: "leveling", redis: dependencies.redisConfiguration, postgres: dependencies.postgres, logger: logger,
                handlers: [EventType.discordMemberJoined: MemberJoinedHandler.handler(leaderboard: leaderboard)]
            ),
            LeaderboardKeeper(leaderboard: leaderboard),
            SettingsWatcher(config, redis: dependencies.redisConfiguration, logger: logger),
            LevelChangeWorker(queue: rewards, interval: settings.jobsInterval, logger: logger),
            RoleUpdateSender(queue: rewards, bot: bot, interval: settings.jobsInterval, logger: logger),
        ]
    )
}
