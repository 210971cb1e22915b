import GuildMigrations

/// The `leveling` schema's own migrations, listed in ``GuildServiceKit/ServiceDescriptor/leveling``.
public enum LevelingMigrations {
    /// Profiles, the XP history, the bot's events as answered, tools, and the queues of level
    /// changes and role updates.
    static let initial = Migration(
        version: 1,
        name: "profiles, xp history, bot events, tools, level changes, role updates",
        statements: [
            """
            CREATE TABLE profiles (
                discord_id text PRIMARY KEY,
                xp bigint NOT NULL DEFAULT 0 CHECK (xp >= 0),
                level integer NOT NULL DEFAULT 0,
                streak integer NOT NULL DEFAULT 0,
                daily_claimed_on date,
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            // The leaderboard when Redis cannot answer, and its rebuild.
            "CREATE INDEX profiles_by_xp ON profiles (xp DESC, discord_id DESC)",
            // Every change of a member's XP, append-only, naming its source (or the admin and reason).
            """
            CREATE TABLE xp_history (
                id bigserial PRIMARY KEY,
                discord_id text NOT NULL,
                amount bigint NOT NULL,
                total_after bigint NOT NULL,
                source text NOT NULL,
                reason text,
                admin_id uuid,
                event_id text,
                channel_id text,
                occurred_at timestamptz NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX xp_history_by_member ON xp_history (discord_id, id DESC)",
            // The bot's events as they were answered: a retry gets the same answer, and the
            // rewarded ones are what cooldowns are measured against.
            """
            CREATE TABLE bot_events (
                event_id text PRIMARY KEY,
                discord_id text NOT NULL,
                source text NOT NULL,
                occurred_at timestamptz NOT NULL,
                xp_awarded integer NOT NULL,
                total_xp bigint NOT NULL,
                level integer NOT NULL,
                leveled_up boolean NOT NULL,
                received_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX bot_events_rewarded ON bot_events (discord_id, source, occurred_at) WHERE xp_awarded > 0",
            // Level changes waiting for their consequences (events, tools, roles), written with the change.
            """
            CREATE TABLE level_changes (
                id bigserial PRIMARY KEY,
                discord_id text NOT NULL,
                from_level integer NOT NULL,
                to_level integer NOT NULL,
                processed_at timestamptz
            )
            """,
            "CREATE INDEX level_changes_pending ON level_changes (id) WHERE processed_at IS NULL",
            """
            CREATE TABLE tools (
                id text PRIMARY KEY,
                name text NOT NULL,
                description text NOT NULL DEFAULT '',
                unlock_level integer NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE member_tools (
                discord_id text NOT NULL,
                tool_id text NOT NULL REFERENCES tools (id) ON DELETE CASCADE,
                via text NOT NULL,
                unlocked_at timestamptz NOT NULL DEFAULT now(),
                PRIMARY KEY (discord_id, tool_id)
            )
            """,
            // Role changes for the bot, sent in order per member until it answers.
            """
            CREATE TABLE role_updates (
                id bigserial PRIMARY KEY,
                discord_id text NOT NULL,
                level integer NOT NULL,
                add_roles text[] NOT NULL,
                remove_roles text[] NOT NULL,
                attempts integer NOT NULL DEFAULT 0,
                next_attempt_at timestamptz NOT NULL DEFAULT now(),
                last_error text,
                created_at timestamptz NOT NULL DEFAULT now(),
                delivered_at timestamptz
            )
            """,
            "CREATE INDEX role_updates_pending ON role_updates (discord_id, id) WHERE delivered_at IS NULL",
            // One bot event, judged in one round trip: a retry answers as the first time; the
            // member's row is locked, so events of one member take turns on every replica; a
            // message or command earns nothing within its cooldown of a rewarded one on either
            // side of its own time (so a late or retried event is judged by when it happened);
            // the level is how many of `thresholds` (each level's requirement) the XP reaches.
            """
            CREATE FUNCTION award_xp(
                p_event_id text, p_discord_id text, p_source text, p_channel_id text, p_occurred_at timestamptz,
                p_amount integer, p_cooldown_seconds integer, p_thresholds bigint[]
            ) RETURNS TABLE (xp_awarded integer, total_xp bigint, level integer, leveled_up boolean, replayed boolean)
            LANGUAGE plpgsql AS $$
            DECLARE
                v_old_xp bigint;
                v_old_level integer;
                v_award integer := 0;
                v_xp bigint;
                v_level integer;
            BEGIN
                RETURN QUERY SELECT b.xp_awarded, b.total_xp, b.level, b.leveled_up, true FROM bot_events b WHERE b.event_id = p_event_id;
                IF FOUND THEN RETURN; END IF;
                INSERT INTO profiles (discord_id) VALUES (p_discord_id) ON CONFLICT (discord_id) DO NOTHING;
                SELECT p.xp, p.level INTO v_old_xp, v_old_level FROM profiles p WHERE p.discord_id = p_discord_id FOR UPDATE;
                -- A concurrent retry held the lock first: answer as it did.
                RETURN QUERY SELECT b.xp_awarded, b.total_xp, b.level, b.leveled_up, true FROM bot_events b WHERE b.event_id = p_event_id;
                IF FOUND THEN RETURN; END IF;
                IF p_amount > 0 AND (p_cooldown_seconds = 0 OR NOT EXISTS (
                    SELECT 1 FROM bot_events b
                    WHERE b.discord_id = p_discord_id AND b.source = p_source AND b.xp_awarded > 0
                      AND b.occurred_at > p_occurred_at - make_interval(secs => p_cooldown_seconds)
                      AND b.occurred_at < p_occurred_at + make_interval(secs => p_cooldown_seconds)
                )) THEN
                    v_award := p_amount;
                END IF;
                v_xp := v_old_xp + v_award;
                v_level := v_old_level;
                IF v_award > 0 THEN
                    v_level := (SELECT count(*)::integer FROM unnest(p_thresholds) AS t(requirement) WHERE t.requirement <= v_xp);
                    UPDATE profiles SET xp = v_xp, level = v_level, updated_at = now() WHERE discord_id = p_discord_id;
                    INSERT INTO xp_history (discord_id, amount, total_after, source, event_id, channel_id, occurred_at)
                    VALUES (p_discord_id, v_award, v_xp, p_source, p_event_id, nullif(p_channel_id, ''), p_occurred_at);
                    IF v_level <> v_old_level THEN
                        INSERT INTO level_changes (discord_id, from_level, to_level) VALUES (p_discord_id, v_old_level, v_level);
                    END IF;
                END IF;
                INSERT INTO bot_events (event_id, discord_id, source, occurred_at, xp_awarded, total_xp, level, leveled_up)
                VALUES (p_event_id, p_discord_id, p_source, p_occurred_at, v_award, v_xp, v_level, v_level > v_old_level);
                RETURN QUERY SELECT v_award, v_xp, v_level, v_level > v_old_level, false;
            END
            $$
            """,
            // Many events in one round trip, each judged as if sent alone, in order. The members'
            // rows are locked first in one order, so two batches never wait for each other in a circle.
            """
            CREATE FUNCTION award_xp_batch(
                p_event_ids text[], p_discord_ids text[], p_sources text[], p_channel_ids text[], p_occurred_ats timestamptz[],
                p_amounts integer[], p_cooldowns integer[], p_thresholds bigint[]
            ) RETURNS TABLE (xp_awarded integer, total_xp bigint, level integer, leveled_up boolean, replayed boolean)
            LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO profiles (discord_id)
                SELECT DISTINCT d FROM unnest(p_discord_ids) AS d ORDER BY d
                ON CONFLICT (discord_id) DO NOTHING;
                PERFORM 1 FROM profiles p WHERE p.discord_id = ANY(p_discord_ids) ORDER BY p.discord_id FOR UPDATE;
                FOR i IN 1 .. coalesce(array_length(p_event_ids, 1), 0) LOOP
                    RETURN QUERY SELECT * FROM award_xp(
                        p_event_ids[i], p_discord_ids[i], p_sources[i], p_channel_ids[i], p_occurred_ats[i],
                        p_amounts[i], p_cooldowns[i], p_thresholds
                    );
                END LOOP;
            END
            $$
            """,
        ]
    )

    /// The admins' settings (one row; none until the first change: the environment's hold) and
    /// every change of them, with who made it and the settings before and after.
    static let settings = SettingsTables.migration(version: 2)

    /// Tools retired instead of deleted once someone unlocked them.
    static let retiredTools = Migration(
        version: 3,
        name: "retired tools",
        statements: ["ALTER TABLE tools ADD COLUMN active boolean NOT NULL DEFAULT true"]
    )
}
