import GuildMigrations

extension LevelingMigrations {
    /// The figures of `GET /api/leveling/stats`, kept by triggers: XP changes per day by source
    /// (`xp_events`, keyed `message`, `voice`, `daily`, `admin` …), level-ups per day
    /// (`level_ups`), and members at each level now (`members_by_level`, spread over a few slots
    /// like the daily counts). Counted back from the rows already there.
    static let stats = Migration(
        version: 4,
        name: "daily figures: xp events, level-ups; members by level",
        statements: [
            """
            CREATE TABLE members_by_level (
                level integer NOT NULL,
                slot smallint NOT NULL,
                members bigint NOT NULL,
                PRIMARY KEY (level, slot)
            )
            """,
            """
            CREATE FUNCTION count_member_level(counted_level integer, delta bigint) RETURNS void LANGUAGE sql SET search_path FROM CURRENT AS $$
                INSERT INTO members_by_level (level, slot, members) VALUES (counted_level, pg_backend_pid() % 4, delta)
                ON CONFLICT (level, slot) DO UPDATE SET members = members_by_level.members + EXCLUDED.members
            $$
            """,
            """
            CREATE FUNCTION count_profile() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
            BEGIN
                IF TG_OP IN ('UPDATE', 'DELETE') THEN
                    PERFORM count_member_level(OLD.level, -1);
                END IF;
                IF TG_OP IN ('INSERT', 'UPDATE') THEN
                    PERFORM count_member_level(NEW.level, 1);
                END IF;
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE TRIGGER profiles_counted AFTER INSERT OR DELETE OR UPDATE OF level ON profiles
            FOR EACH ROW EXECUTE FUNCTION count_profile()
            """,
            """
            CREATE FUNCTION count_xp_change() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
            BEGIN
                PERFORM count_daily('xp_events', NEW.source, NEW.created_at, 1);
                RETURN NULL;
            END
            $$
            """,
            "CREATE TRIGGER xp_history_counted AFTER INSERT ON xp_history FOR EACH ROW EXECUTE FUNCTION count_xp_change()",
            """
            CREATE FUNCTION count_level_change() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
            BEGIN
                IF NEW.to_level > NEW.from_level THEN
                    PERFORM count_daily('level_ups', '', now(), 1);
                END IF;
                RETURN NULL;
            END
            $$
            """,
            "CREATE TRIGGER level_changes_counted AFTER INSERT ON level_changes FOR EACH ROW EXECUTE FUNCTION count_level_change()",
            "INSERT INTO members_by_level (level, slot, members) SELECT level, 0, count(*) FROM profiles GROUP BY level",
            """
            INSERT INTO daily_counts (metric, day, key, slot, value)
            SELECT 'xp_events', (created_at AT TIME ZONE 'UTC')::date, source, 0, count(*) FROM xp_history GROUP BY 2, 3
            """,
        ]
    )
}
