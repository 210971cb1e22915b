import GuildEvents
import GuildMigrations

/// The `tickets` schema.
public enum TicketsMigrations {
    /// Every migration of the tickets service, applied at start and by `guildctl migrate`.
    public static let runner = MigrationRunner(schema: "tickets", migrations: [EventTables.migration(version: 1)])
}
