import GuildServiceKit

extension ServiceDescriptor {
    /// The auth service: accounts, logins, sessions, tokens and the verify-token gate.
    public static let auth = ServiceDescriptor(
        name: "auth",
        defaultPort: 8081,
        routePrefixes: ["/api/auth", "/api/users", "/api/discord", "/api/health"],
        migrations: [AuthMigrations.initial, AuthMigrations.discordProfile, AuthMigrations.stats]
    )
}
