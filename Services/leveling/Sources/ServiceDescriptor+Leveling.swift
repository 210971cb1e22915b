import GuildServiceKit

extension ServiceDescriptor {
    /// The leveling service: XP, levels and tools.
    public static let leveling = ServiceDescriptor(
        name: "leveling",
        defaultPort: 8084,
        routePrefixes: ["/api/leveling"],
        migrations: [
            LevelingMigrations.initial, LevelingMigrations.settings, LevelingMigrations.retiredTools, LevelingMigrations.stats,
            LevelingMigrations.bulkCounts,
        ]
    )
}
