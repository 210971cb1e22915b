import GuildMigrations

/// The `auth` schema's own migrations, listed in ``GuildServiceKit/ServiceDescriptor/auth``. The
/// kit adds the shared event and idempotency tables; version 2, which made the event tables before
/// the kit owned them, is retired and never reused.
public enum AuthMigrations {
    static let initial = Migration(
        version: 1,
        name: "users, sessions and refresh tokens",
        statements: [
            """
            CREATE TABLE users (
                id uuid PRIMARY KEY,
                username text NOT NULL,
                password_hash text,
                role text NOT NULL CHECK (role IN ('admin', 'moderator', 'user')),
                discord_id text UNIQUE,
                avatar text,
                disabled boolean NOT NULL DEFAULT false,
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE UNIQUE INDEX users_username_key ON users (lower(username))",
            """
            CREATE TABLE sessions (
                id uuid PRIMARY KEY,
                user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                platform text NOT NULL DEFAULT 'web',
                device text,
                created_at timestamptz NOT NULL DEFAULT now(),
                last_seen_at timestamptz NOT NULL DEFAULT now(),
                expires_at timestamptz NOT NULL,
                revoked_at timestamptz,
                revoked_reason text
            )
            """,
            "CREATE INDEX sessions_user ON sessions (user_id)",
            """
            CREATE TABLE refresh_tokens (
                token_hash text PRIMARY KEY,
                session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
                issued_at timestamptz NOT NULL DEFAULT now(),
                expires_at timestamptz NOT NULL,
                spent_at timestamptz
            )
            """,
            "CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id)",
        ]
    )

    /// The Discord name of a linked account, as Discord last said it (refreshed at each Discord login).
    static let discordProfile = Migration(
        version: 3,
        name: "users.discord_username",
        statements: ["ALTER TABLE users ADD COLUMN discord_username text"]
    )
}
