import GuildMigrations

extension NotifyMigrations {
    /// A page of an inbox and its unread count in one call (`GET /api/notifications`, on every page
    /// load of a frontend). Its statements are planned once per database connection, not per
    /// request: planning the inbox's union twice (the page, the count) cost a millisecond of
    /// PostgreSQL's time per request, ten times running it.
    static let inboxPage = Migration(
        version: 8,
        name: "inbox page in one call",
        statements: [
            """
            CREATE FUNCTION inbox_page(reader text, after_id uuid, page_size int)
            RETURNS TABLE (unread int, id uuid, kind text, title text, body text, read boolean, created_at timestamptz, priority text)
            LANGUAGE plpgsql STABLE SET search_path FROM CURRENT AS $$
            BEGIN
                -- One row at least: the unread count, with the page's entries (none past the end or
                -- after an unknown cursor: its NULL key matches nothing).
                RETURN QUERY
                SELECT u.unread, p.id, p.kind, p.title, p.body, p.read, p.created_at, p.priority
                FROM (SELECT count(*)::int AS unread FROM inbox_of(reader) i WHERE NOT i.read) u
                LEFT JOIN LATERAL (
                    SELECT i.* FROM inbox_of(reader) i
                    WHERE after_id IS NULL
                       OR (i.created_at, i.id) < (SELECT c.created_at, c.id FROM inbox_of(reader) c WHERE c.id = after_id LIMIT 1)
                    ORDER BY i.created_at DESC, i.id DESC LIMIT page_size
                ) p ON true
                ORDER BY p.created_at DESC, p.id DESC;
            END
            $$
            """,
        ]
    )
}
