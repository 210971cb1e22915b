import GuildEvents
import GuildMigrations

/// The `leveling` schema.
public enum LevelingMigrations {
    /// Every migration of the leveling service, applied at start and by `guildctl migrate`.
    public static let runner = MigrationRunner(schema: "leveling", migrations: [EventTables.migration(version: 1)])
}
