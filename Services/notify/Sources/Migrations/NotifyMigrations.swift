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

    /// Push: devices' FCM registration tokens (each belongs to one user) and the queue of
    /// messages to send, worked off by ``PushSender`` under a lease (`next_attempt_at`).
    static let push = Migration(
        version: 3,
        name: "push tokens and jobs",
        statements: [
            """
            CREATE TABLE push_tokens (
                token text PRIMARY KEY CHECK (length(token) BETWEEN 1 AND 4096),
                user_id text NOT NULL,
                platform text NOT NULL CHECK (platform IN ('android', 'ios', 'web')),
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX push_tokens_by_user ON push_tokens (user_id)",
            // `tokens`: the devices still to reach after a partial failure; NULL: all of the user's.
            """
            CREATE TABLE push_jobs (
                id bigserial PRIMARY KEY,
                user_id text NOT NULL,
                kind text NOT NULL,
                title text NOT NULL,
                body text NOT NULL,
                data jsonb NOT NULL DEFAULT '{}',
                attempts integer NOT NULL DEFAULT 0,
                next_attempt_at timestamptz NOT NULL DEFAULT now(),
                tokens text[],
                last_error text,
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX push_jobs_due ON push_jobs (next_attempt_at, id)",
        ]
    )
}
