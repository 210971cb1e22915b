import GuildMigrations

extension NotifyMigrations {
    /// Messages for the bot to send members on Discord (DMs), in order per user until it takes them.
    static let botMessages = Migration(
        version: 5,
        name: "bot messages",
        statements: [
            """
            CREATE TABLE bot_messages (
                id bigserial PRIMARY KEY,
                user_id text NOT NULL,
                kind text NOT NULL,
                title text NOT NULL,
                body text NOT NULL,
                attempts integer NOT NULL DEFAULT 0,
                next_attempt_at timestamptz NOT NULL DEFAULT now(),
                last_error text,
                created_at timestamptz NOT NULL DEFAULT now(),
                settled_at timestamptz,
                outcome text
            )
            """,
            "CREATE INDEX bot_messages_pending ON bot_messages (user_id, id) WHERE settled_at IS NULL",
        ]
    )
}
