import GuildMigrations

/// The tables every service needs to publish and consume events reliably.
public enum EventTables {
    /// Creates `outbox` (events waiting to be relayed) and `processed_events` (consumer idempotency).
    ///
    /// One of the kit's shared tables: its version is below the services' own (which start at 1)
    /// so it comes first, and its DDL is `IF NOT EXISTS` because schemas made before the kit
    /// owned it created the same tables in a migration of their own.
    public static let migration = Migration(
        version: -2,
        name: "shared: event outbox and inbox",
        statements: [
            """
            CREATE TABLE IF NOT EXISTS outbox (
                seq bigserial PRIMARY KEY,
                id uuid NOT NULL UNIQUE,
                type text NOT NULL,
                occurred_at timestamptz NOT NULL,
                user_id text,
                data jsonb NOT NULL,
                published_at timestamptz
            )
            """,
            "CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (seq) WHERE published_at IS NULL",
            """
            CREATE TABLE IF NOT EXISTS processed_events (
                event_id uuid PRIMARY KEY,
                type text NOT NULL,
                processed_at timestamptz NOT NULL DEFAULT now()
            )
            """,
        ]
    )

    /// Adds `relay_after` to `outbox`: an event its writer publishes itself
    /// (``EventPublisher``) is the relays' only from then on.
    public static let handOver = Migration(
        version: 0,
        name: "shared: events handed over to their writer's publisher",
        statements: ["ALTER TABLE outbox ADD COLUMN IF NOT EXISTS relay_after timestamptz"]
    )
}
