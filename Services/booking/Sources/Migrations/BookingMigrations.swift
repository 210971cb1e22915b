import GuildEvents
import GuildMigrations

/// The `booking` schema.
public enum BookingMigrations {
    /// Every migration of the booking service, applied at start and by `guildctl migrate`.
    public static let runner = MigrationRunner(schema: "booking", migrations: [EventTables.migration(version: 1)])
}
