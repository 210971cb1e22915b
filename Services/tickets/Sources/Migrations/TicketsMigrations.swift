import GuildMigrations

/// The `tickets` schema's own migrations, listed in ``GuildServiceKit/ServiceDescriptor/tickets``.
/// (Version 1 made the event tables before the kit owned them; it is retired and never reused.)
public enum TicketsMigrations {
    /// Tickets, their messages, each reader's read mark, and the desk's settings.
    static let initial = Migration(
        version: 2,
        name: "tickets, messages, read marks, settings",
        statements: [
            """
            CREATE TABLE tickets (
                id uuid PRIMARY KEY,
                user_id uuid NOT NULL,
                user_name text NOT NULL,
                subject text NOT NULL,
                category text NOT NULL,
                status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
                claimed_by uuid,
                claimed_by_name text,
                created_at timestamptz NOT NULL DEFAULT now(),
                last_activity_at timestamptz NOT NULL DEFAULT now(),
                closed_at timestamptz
            )
            """,
            "CREATE INDEX tickets_by_owner ON tickets (user_id, status)",
            "CREATE INDEX tickets_idle ON tickets (last_activity_at) WHERE status = 'open'",
            """
            CREATE TABLE messages (
                id uuid PRIMARY KEY,
                ticket_id uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
                author_id uuid,
                author_name text NOT NULL,
                author_avatar text,
                content text NOT NULL,
                is_admin boolean NOT NULL,
                client_message_id text,
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX messages_by_ticket ON messages (ticket_id, id)",
            // A retried send with the same client_message_id finds the first message.
            "CREATE UNIQUE INDEX messages_client_id ON messages (ticket_id, author_id, client_message_id) WHERE client_message_id IS NOT NULL",
            """
            CREATE TABLE read_marks (
                ticket_id uuid NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
                reader_id uuid NOT NULL,
                last_read_id uuid NOT NULL,
                PRIMARY KEY (ticket_id, reader_id)
            )
            """,
            // Tickets as one reader sees them: the newest message and what the reader has not read
            // (messages of others after the reader's mark; ids are time-ordered). A plain SQL
            // function, so PostgreSQL inlines it and a filter on its columns reaches the indexes.
            """
            CREATE FUNCTION tickets_seen_by(reader uuid)
            RETURNS TABLE (
                ticket_id uuid, user_id uuid, user_name text, subject text, category text, status text,
                claimed_by uuid, claimed_by_name text, created_at timestamptz, closed_at timestamptz,
                last_id uuid, last_author_id uuid, last_author_name text, last_author_avatar text,
                last_content text, last_at timestamptz, last_is_admin boolean, unread_count integer
            )
            LANGUAGE sql STABLE AS $$
                SELECT t.id, t.user_id, t.user_name, t.subject, t.category, t.status, t.claimed_by, t.claimed_by_name,
                       t.created_at, t.closed_at,
                       m.id, m.author_id, m.author_name, m.author_avatar, m.content, m.created_at, m.is_admin,
                       (SELECT count(*)::integer FROM messages u
                        WHERE u.ticket_id = t.id AND u.author_id IS DISTINCT FROM reader
                          AND u.id > coalesce((SELECT r.last_read_id FROM read_marks r WHERE r.ticket_id = t.id AND r.reader_id = reader),
                                              '00000000-0000-0000-0000-000000000000'::uuid))
                FROM tickets t
                LEFT JOIN LATERAL (SELECT * FROM messages WHERE messages.ticket_id = t.id ORDER BY id DESC LIMIT 1) m ON true
            $$
            """,
            """
            CREATE TABLE settings (
                id boolean PRIMARY KEY DEFAULT true CHECK (id),
                enabled boolean NOT NULL,
                max_open_per_user integer NOT NULL,
                auto_close_hours integer NOT NULL,
                transcript_enabled boolean NOT NULL,
                categories text[] NOT NULL
            )
            """,
            """
            INSERT INTO settings (enabled, max_open_per_user, auto_close_hours, transcript_enabled, categories)
            VALUES (true, 3, 72, true, ARRAY['support', 'billing', 'technical', 'other'])
            """,
        ]
    )
}
