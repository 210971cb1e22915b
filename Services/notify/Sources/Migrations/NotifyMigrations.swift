import GuildMigrations

/// The `notify` schema.
public enum NotifyMigrations {
    /// The service's own migrations (version 2, the event tables, is now the kit's).
    static let all = [initial]

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
