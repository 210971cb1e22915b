import GuildMigrations

extension TicketsMigrations {
    /// The figures of `GET /api/tickets/stats`: tickets remember who of the staff closed them
    /// (`closed_by`; null when the owner or the idle closer did) and when staff first answered
    /// (`first_staff_reply_at`), and triggers keep tickets opened and closed per day
    /// (`tickets.opened`, `tickets.closed`) and each staff member's replies and closes
    /// (`tickets.replies`, `tickets.closes`, keyed by the member's id). Counted back from the rows
    /// already there.
    static let stats = Migration(
        version: 3,
        name: "daily figures: tickets opened and closed, staff replies and closes",
        statements: [
            "ALTER TABLE tickets ADD COLUMN closed_by uuid, ADD COLUMN first_staff_reply_at timestamptz",
            // Medians and percentiles over the tickets opened in a window.
            "CREATE INDEX tickets_by_opening ON tickets (created_at)",
            """
            UPDATE tickets SET first_staff_reply_at = first.at
            FROM (SELECT ticket_id, min(created_at) AS at FROM messages WHERE is_admin GROUP BY ticket_id) AS first
            WHERE first.ticket_id = tickets.id
            """,
            """
            CREATE FUNCTION count_ticket() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    PERFORM count_daily('tickets.opened', '', NEW.created_at, 1);
                ELSIF NEW.status = 'closed' AND OLD.status <> 'closed' THEN
                    PERFORM count_daily('tickets.closed', '', coalesce(NEW.closed_at, now()), 1);
                    IF NEW.closed_by IS NOT NULL THEN
                        PERFORM count_daily('tickets.closes', NEW.closed_by::text, coalesce(NEW.closed_at, now()), 1);
                    END IF;
                END IF;
                RETURN NULL;
            END
            $$
            """,
            "CREATE TRIGGER tickets_counted AFTER INSERT OR UPDATE OF status ON tickets FOR EACH ROW EXECUTE FUNCTION count_ticket()",
            """
            CREATE FUNCTION count_message() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
            BEGIN
                IF NEW.is_admin AND NEW.author_id IS NOT NULL THEN
                    PERFORM count_daily('tickets.replies', NEW.author_id::text, NEW.created_at, 1);
                    UPDATE tickets SET first_staff_reply_at = NEW.created_at WHERE id = NEW.ticket_id AND first_staff_reply_at IS NULL;
                END IF;
                RETURN NULL;
            END
            $$
            """,
            "CREATE TRIGGER messages_counted AFTER INSERT ON messages FOR EACH ROW EXECUTE FUNCTION count_message()",
            """
            INSERT INTO daily_counts (metric, day, key, slot, value)
            SELECT 'tickets.opened', (created_at AT TIME ZONE 'UTC')::date, '', 0, count(*) FROM tickets GROUP BY 2
            """,
            """
            INSERT INTO daily_counts (metric, day, key, slot, value)
            SELECT 'tickets.closed', (closed_at AT TIME ZONE 'UTC')::date, '', 0, count(*) FROM tickets
            WHERE status = 'closed' AND closed_at IS NOT NULL GROUP BY 2
            """,
            """
            INSERT INTO daily_counts (metric, day, key, slot, value)
            SELECT 'tickets.replies', (created_at AT TIME ZONE 'UTC')::date, author_id::text, 0, count(*) FROM messages
            WHERE is_admin AND author_id IS NOT NULL GROUP BY 2, 3
            """,
        ]
    )

    /// The open tickets by category, counted from an index of the open ones only.
    static let openByCategory = Migration(
        version: 4,
        name: "open tickets by category",
        statements: ["CREATE INDEX tickets_open_by_category ON tickets (category) WHERE status = 'open'"]
    )
}
