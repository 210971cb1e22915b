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

    /// When what a message tells of happened: the order a member hears of things in, whichever
    /// replica's consumer queued its message first.
    static let botMessagesInOrder = Migration(
        version: 6,
        name: "bot messages in the order things happened",
        statements: [
            "ALTER TABLE bot_messages ADD COLUMN occurred_at timestamptz NOT NULL DEFAULT now()",
            "CREATE INDEX bot_messages_pending_in_order ON bot_messages (user_id, occurred_at, id) WHERE settled_at IS NULL",
        ]
    )
}
