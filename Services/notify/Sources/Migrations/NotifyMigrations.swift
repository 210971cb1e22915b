import GuildEvents
import GuildMigrations

/// The `notify` schema.
public enum NotifyMigrations {
    /// Every migration of the notify service, applied at start and by `guildctl migrate`.
    public static let runner = MigrationRunner(schema: "notify", migrations: [initial, EventTables.migration(version: 2)])

    static let initial = Migration(
        version: 1,
        name: "notification inbox",
        statements: [
            """
            CREATE TABLE notifications (
                id uuid PRIMARY KEY,
                user_id text NOT NULL,
                kind text NOT NULL,
                title text NOT NULL,
                body text NOT NULL,
                source_event_id uuid UNIQUE,
                created_at timestamptz NOT NULL DEFAULT now(),
                read_at timestamptz
            )
            """,
            "CREATE INDEX notifications_inbox ON notifications (user_id, created_at DESC, id DESC)",
        ]
    )
}
