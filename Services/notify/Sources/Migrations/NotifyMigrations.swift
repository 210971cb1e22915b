import GuildMigrations

/// The `notify` schema's own migrations, listed in ``GuildServiceKit/ServiceDescriptor/notify``. The
/// kit adds the shared event and idempotency tables; version 2, which made the event tables before
/// the kit owned them, is retired and never reused.
public enum NotifyMigrations {
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
