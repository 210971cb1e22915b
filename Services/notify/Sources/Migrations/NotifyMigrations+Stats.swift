import GuildMigrations

extension NotifyMigrations {
    /// The figures of `GET /api/notifications/stats`: inbox entries per day by kind
    /// (`inbox`, kept by a trigger and counted back from the rows already there), pushes sent and
    /// failed per day (`pushes.sent`, `pushes.failed`, counted by the sender as it settles), and
    /// devices by platform (the devices' own table, indexed for it).
    static let stats = Migration(
        version: 7,
        name: "daily figures: inbox entries, pushes",
        statements: [
            "CREATE INDEX push_tokens_by_platform ON push_tokens (platform)",
            """
            CREATE FUNCTION count_notification() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
            BEGIN
                PERFORM count_daily('inbox', NEW.kind, NEW.created_at, 1);
                RETURN NULL;
            END
            $$
            """,
            "CREATE TRIGGER notifications_counted AFTER INSERT ON notifications FOR EACH ROW EXECUTE FUNCTION count_notification()",
            """
            INSERT INTO daily_counts (metric, day, key, slot, value)
            SELECT 'inbox', (created_at AT TIME ZONE 'UTC')::date, kind, 0, count(*) FROM notifications GROUP BY 2, 3
            """,
        ]
    )
}
