import GuildMigrations

/// The tables every service needs to publish and consume events reliably.
public enum EventTables {
    /// Creates `outbox` (events waiting to be relayed) and `processed_events` (consumer idempotency).
    public static func migration(version: Int) -> Migration {
        Migration(
            version: version,
            name: "event outbox and inbox",
            statements: [
                """
                CREATE TABLE outbox (
                    seq bigserial PRIMARY KEY,
                    id uuid NOT NULL UNIQUE,
                    type text NOT NULL,
                    occurred_at timestamptz NOT NULL,
                    user_id text,
                    data jsonb NOT NULL,
                    published_at timestamptz
                )
                """,
                "CREATE INDEX outbox_pending ON outbox (seq) WHERE published_at IS NULL",
                """
                CREATE TABLE processed_events (
                    event_id uuid PRIMARY KEY,
                    type text NOT NULL,
                    processed_at timestamptz NOT NULL DEFAULT now()
                )
                """,
            ]
        )
    }
}
