import Configuration
import GuildCore
import GuildServiceKit
import Hummingbird
import Logging

/// Builds the auth service from configuration (the executable and the tests both call this).
public func buildApplication(reader: ConfigReader) async throws -> some ApplicationProtocol {
    let dependencies = try ServiceDependencies(settings: ServiceSettings(service: "auth", defaultPort: 8081, reader: reader))
    let settings = try AuthSettings(reader: reader, common: dependencies.settings)
    await dependencies.verifier.add(publicKey: settings.signingKey.privateKey.publicKey, kid: settings.signingKey.kid)

    let users = UserPostgresRepository(database: dependencies.database)
    let hasher = PasswordHasher(cost: settings.bcryptCost)
    let issuer = await TokenIssuer(
        key: settings.signingKey, policy: dependencies.settings.tokenPolicy,
        accessTokenLifetime: settings.accessTokenLifetime, refreshTokenLifetime: settings.refreshTokenLifetime
    )
    let logger = dependencies.logger

    return buildGuildApplication(
        dependencies,
        migrations: AuthMigrations.runner,
        keys: .local,
        routes: { router in
            router.addRoutes(LoginController(users: users, hasher: hasher, issuer: issuer).endpoints, atPath: "/api/auth")
            router.addRoutes(TokenController(signingKey: settings.signingKey, verifier: dependencies.verifier).endpoints, atPath: "/api/auth")
            router.group("/api/users", context: AuthenticatedContext.self).addRoutes(UsersController(users: users).endpoints)
        },
        afterMigrations: {
            guard let username = settings.adminUsername, let password = settings.adminPassword else { return }
            try await AdminBootstrap(users: users, hasher: hasher).ensureAdmin(username: username, password: password, logger: logger)
        }
    )
}

/// Creates the first admin from `ADMIN_USERNAME` / `ADMIN_PASSWORD` (start-up and `guildctl create-admin`).
public struct AdminBootstrap: Sendable {
    let users: any UserRepository
    let hasher: PasswordHasher

    /// Uses the auth schema through `database`.
    public init(database: Database, bcryptCost: UInt8 = 11) {
        self.init(users: UserPostgresRepository(database: database), hasher: PasswordHasher(cost: bcryptCost))
    }

    init(users: any UserRepository, hasher: PasswordHasher) {
        self.users = users
        self.hasher = hasher
    }

    /// Creates `username` as an admin unless the name exists; returns whether it created it.
    @discardableResult
    public func ensureAdmin(username: String, password: String, logger: Logger) async throws -> Bool {
        if let reason = PasswordHasher.validate(password) { throw APIError.invalidField("ADMIN_PASSWORD", reason) }
        if try await users.find(username: username, logger: logger) != nil { return false }
        do {
            _ = try await users.create(username: username, passwordHash: try await hasher.hash(password), role: .admin, logger: logger)
        } catch let error as APIError where error == .usernameTaken {
            return false
        }
        logger.info("admin created", metadata: ["username": "\(username)"])
        return true
    }
}
