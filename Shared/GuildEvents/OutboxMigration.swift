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

    /// `outbox_write(…)`: the one way an event enters the outbox, for ``Outbox`` and for a
    /// statement that writes its event itself (tickets' message, posted in one statement):
    /// `hand_over_seconds` null wakes the schema's relays at commit; a number of seconds leaves
    /// the row to the writer's ``EventPublisher`` for that long (`relay_after`).
    ///
    /// Below `outbox` itself in order, which PL/pgSQL allows (its body is resolved when called);
    /// a schema made before it gets it as the one shared migration it has not had.
    public static let writer = Migration(
        version: -3,
        name: "shared: the outbox's writer",
        statements: [
            """
            CREATE OR REPLACE FUNCTION outbox_write(
                event_id uuid, event_type text, occurred timestamptz, owner text, payload jsonb, hand_over_seconds bigint
            ) RETURNS void LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
            BEGIN
                INSERT INTO outbox (id, type, occurred_at, user_id, data, relay_after)
                VALUES (event_id, event_type, occurred, owner, payload, now() + make_interval(secs => hand_over_seconds));
                IF hand_over_seconds IS NULL THEN
                    PERFORM pg_notify('guildhall_outbox_' || current_schema(), '');
                END IF;
            END
            $$
            """
        ]
    )

    /// Every shared migration of the event tables, for a schema that writes and relays events.
    public static let all = [migration, handOver, writer]
}
