import GuildMigrations

extension LevelingMigrations {
    /// Members by level counted once per statement for new profiles, not once per row (and a
    /// batch of the bot's events counted once, below): a row's
    /// trigger added one to the same counter row for each profile inserted, and a bulk insert of
    /// a million (an import, a restore) stacked a million versions of one row (ten minutes in
    /// PostgreSQL instead of seconds). Level changes and deletions are still counted per row, a
    /// level only when it changed.
    static let bulkCounts = Migration(
        version: 5,
        name: "counts per statement and per batch: new profiles, level changes, a batch's XP changes and level-ups",
        statements: [
            "DROP TRIGGER profiles_counted ON profiles",
            // And a level counted only when it changed: every XP award sets `level`, and moved two
            // counter rows (down one, up one) for nothing.
            "CREATE TRIGGER profiles_removed AFTER DELETE ON profiles FOR EACH ROW EXECUTE FUNCTION count_profile()",
            """
            CREATE TRIGGER profiles_levelled AFTER UPDATE OF level ON profiles
            FOR EACH ROW WHEN (OLD.level IS DISTINCT FROM NEW.level) EXECUTE FUNCTION count_profile()
            """,
            """
            CREATE FUNCTION count_new_profiles() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
            BEGIN
                INSERT INTO members_by_level (level, slot, members)
                SELECT level, pg_backend_pid() % 4, count(*) FROM new_profiles GROUP BY level
                ON CONFLICT (level, slot) DO UPDATE SET members = members_by_level.members + EXCLUDED.members;
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE TRIGGER profiles_added AFTER INSERT ON profiles REFERENCING NEW TABLE AS new_profiles
            FOR EACH STATEMENT EXECUTE FUNCTION count_new_profiles()
            """,
            // A batch of the bot's events counts its XP changes and level-ups once, at its end,
            // rather than once an event: each event's count moved the same counter row, and a
            // batch of 500 stacked hundreds of versions of it in one transaction. The triggers
            // stand aside while a batch runs (`leveling.batch_counts`, local to its transaction).
            """
            CREATE OR REPLACE FUNCTION count_xp_change() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
            BEGIN
                IF current_setting('leveling.batch_counts', true) = 'on' THEN
                    RETURN NULL;
                END IF;
                PERFORM count_daily('xp_events', NEW.source, NEW.created_at, 1);
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE OR REPLACE FUNCTION count_level_change() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
            BEGIN
                IF current_setting('leveling.batch_counts', true) = 'on' THEN
                    RETURN NULL;
                END IF;
                IF NEW.to_level > NEW.from_level THEN
                    PERFORM count_daily('level_ups', '', now(), 1);
                END IF;
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE OR REPLACE FUNCTION award_xp_batch(
                p_event_ids text[], p_discord_ids text[], p_sources text[], p_channel_ids text[], p_occurred_ats timestamptz[],
                p_amounts integer[], p_cooldowns integer[], p_thresholds bigint[]
            ) RETURNS TABLE (xp_awarded integer, total_xp bigint, level integer, leveled_up boolean, replayed boolean)
            LANGUAGE plpgsql AS $$
            DECLARE
                counted record;
            BEGIN
                INSERT INTO profiles (discord_id)
                SELECT DISTINCT d FROM unnest(p_discord_ids) AS d ORDER BY d
                ON CONFLICT (discord_id) DO NOTHING;
                PERFORM 1 FROM profiles p WHERE p.discord_id = ANY(p_discord_ids) ORDER BY p.discord_id FOR UPDATE;
                PERFORM set_config('leveling.batch_counts', 'on', true);
                FOR i IN 1 .. coalesce(array_length(p_event_ids, 1), 0) LOOP
                    RETURN QUERY SELECT * FROM award_xp(
                        p_event_ids[i], p_discord_ids[i], p_sources[i], p_channel_ids[i], p_occurred_ats[i],
                        p_amounts[i], p_cooldowns[i], p_thresholds
                    );
                END LOOP;
                PERFORM set_config('leveling.batch_counts', 'off', true);
                -- The events this batch judged (a replay was received earlier): an awarded one wrote
                -- one XP change, a levelled-up one one level-up.
                FOR counted IN
                    SELECT b.source, count(*) FILTER (WHERE b.xp_awarded > 0) AS awarded, count(*) FILTER (WHERE b.leveled_up) AS ups
                    FROM bot_events b WHERE b.event_id = ANY(p_event_ids) AND b.received_at = now()
                    GROUP BY b.source
                LOOP
                    IF counted.awarded > 0 THEN
                        PERFORM count_daily('xp_events', counted.source, now(), counted.awarded);
                    END IF;
                    IF counted.ups > 0 THEN
                        PERFORM count_daily('level_ups', '', now(), counted.ups);
                    END IF;
                END LOOP;
            END
            $$
            """,
        ]
    )
}
