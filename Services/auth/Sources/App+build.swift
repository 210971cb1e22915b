import Configuration
import GuildAuth
import GuildConcurrency
import GuildCore
import GuildRedis
import GuildServiceKit
import Hummingbird
import Logging

/// Builds the auth service from configuration (the executable and the tests both call this).
public func buildApplication(reader: ConfigReader) async throws -> some ApplicationProtocol {
    let common = try ServiceSettings(.auth, reader: reader)
    let settings = try AuthSettings(reader: reader, common: common)
    // A revoked session must be refused for as long as one of its access tokens can be unexpired.
    let revocationWindow = settings.accessTokenLifetime + .seconds(60)
    let revocations = RevocationList(retention: revocationWindow.seconds)
    let dependencies = try ServiceDependencies(settings: common, revocations: revocations)
    await dependencies.verifier.add(publicKey: settings.signingKey.privateKey.publicKey, kid: settings.signingKey.kid)

    let users = UserRepository(database: dependencies.database)
    let hasher = try await PasswordHasher.make(cost: settings.bcryptCost)
    let issuer = await TokenIssuer(
        key: settings.signingKey, policy: dependencies.settings.tokenPolicy,
        accessTokenLifetime: settings.accessTokenLifetime, refreshTokenLifetime: settings.refreshTokenLifetime
    )
    let logger = dependencies.logger
    let sessions = SessionRepository(database: dependencies.database)
    let revoker = Revoker(list: revocations, redis: dependencies.redis)
    let reloadRevocations: @Sendable () async throws -> Void = {
        let (revokedSessions, disabledUsers) = try await sessions.revocations(window: revocationWindow, logger: logger)
        revocations.merge(sessions: revokedSessions, disabledUsers: disabledUsers)
    }
    // Opens once the revocations are loaded at start-up; no token is answered before.
    let revocationsLoaded = ReadySignal()
    let revocationFeed = RedisSubscriber(
        configuration: dependencies.redisConfiguration, channels: [RevocationList.channel], logger: logger,
        onSubscribed: {
            // (Re)connected: catch up on whatever was revoked while this replica was not listening.
            do {
                try await reloadRevocations()
            } catch {
                logger.warning("could not reload revocations from PostgreSQL", metadata: ["error": "\(error)"])
            }
        },
        onMessage: { message in
            if let entry = RevocationList.Entry(message.payload) { revocations.add(entry) }
        }
    )

    let ownHealth = HealthCheck(settings: common, postgres: dependencies.postgres, redis: dependencies.redis)
    let stackHealth = StackHealthController(targets: try StackHealthController.Targets(reader: reader)) {
        await ownHealth.report(logger: logger).status
    }

    // Web apps' refresh tokens, as cookies: set by logins and refreshes, cleared by logout.
    let refreshCookie = RefreshCookie(lifetime: settings.refreshTokenLifetime)
    // Whether this deployment offers "Log in with Discord" (the console shows the button by it).
    let discordLogin = HealthComponent("discord_login") { [configured = settings.discord != nil] in configured ? "on" : "off" }
    return buildGuildApplication(
        dependencies,
        keys: .local,
        health: [discordLogin],
        routes: { routes in
            let throttle = LoginThrottle(redis: dependencies.redis, limits: settings.loginLimits)
            let login = LoginController(
                users: users, hasher: hasher, issuer: issuer, throttle: throttle, cookie: refreshCookie,
                devices: DeviceTokens(signingKey: settings.signingKey, lifetimeSeconds: settings.deviceTokenLifetime, secureCookie: common.isProduction)
            )
            let discord = DiscordController(settings: settings.discord, users: users, redis: dependencies.redis, login: login)
            routes.open(
                "/api/auth",
                login.endpoints, discord.exchangeEndpoints,
                TokenController(signingKey: settings.signingKey, verifier: dependencies.verifier).endpoints,
                RefreshController(
                    sessions: sessions, issuer: issuer, revoker: revoker, redis: dependencies.redis, grace: settings.refreshGrace, cookie: refreshCookie
                ).endpoints
            )
            routes.open("/api/discord", discord.endpoints)
            routes.open("/api", stackHealth.endpoints)
            let sessionRoutes = SessionsController(sessions: sessions, revoker: revoker, cookie: refreshCookie)
            routes.signedIn("/api/auth", sessionRoutes.endpoints)
            routes.signedIn("/api/auth", sessionRoutes.adminEndpoints)
            // Before the routes of one user: `stats` is not a user id.
            routes.signedIn("/api/users", StatsController(database: dependencies.database).staffEndpoints)
            routes.signedIn("/api/users", UsersController(users: users).endpoints, PasswordController(users: users, hasher: hasher, throttle: throttle, revoker: revoker).endpoints)
            let userAdmin = UserAdminController(users: users, admin: UserAdminRepository(database: dependencies.database), hasher: hasher, revoker: revoker)
            routes.signedIn("/api/users", userAdmin.staffEndpoints)
            routes.signedIn("/api/users", userAdmin.adminEndpoints)
        },
        internalRoutes: { internalRoutes in
            internalRoutes.addRoutes(InternalUsersController(users: users).endpoints)
            internalRoutes.addRoutes(InternalRevocationsController(sessions: sessions, window: revocationWindow).endpoints)
            internalRoutes.addRoutes(DiscordEventsController(database: dependencies.database).endpoints)
        },
        jobs: [
            revocationFeed,
            VerifyListener(
                host: common.host, port: settings.verifyPort, threads: settings.verifyThreads, verifier: dependencies.verifier,
                ready: revocationsLoaded, logger: logger
            ),
        ],
        afterMigrations: {
            // Before the public and the verify-token listeners answer anything: what was revoked
            // while this replica was away.
            try await retryUntilDone("waiting for PostgreSQL to load revocations", logger: logger, reloadRevocations)
            revocationsLoaded.open()
            guard let username = settings.adminUsername, let password = settings.adminPassword else { return }
            try await AdminBootstrap(users: users, hasher: hasher).ensureAdmin(username: username, password: password, logger: logger)
        }
    )
}
