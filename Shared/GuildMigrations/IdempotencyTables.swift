import GuildPostgres

/// The table behind ``Database/idempotent(_:status:logger:_:)``, added to every service's schema.
public enum IdempotencyTables {
    /// Creates `idempotency_keys` (a key per caller, with the answer it got).
    public static let migration = Migration(
        version: -1,
        name: "shared: idempotency keys",
        statements: [
            """
            CREATE TABLE IF NOT EXISTS idempotency_keys (
                owner_id uuid NOT NULL,
                key text NOT NULL,
                fingerprint text NOT NULL,
                status integer,
                response text,
                created_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (owner_id, key)
            )
            """,
            "CREATE INDEX IF NOT EXISTS idempotency_keys_by_age ON idempotency_keys (created_at)",
        ]
    )
}
