import GuildMigrations

extension AuthMigrations {
    /// The figures of `GET /api/users/stats`, kept by triggers: accounts made (`users.new`),
    /// sign-ins by method (`logins`, keyed `password` or `discord`: sessions now record theirs),
    /// and members seen (`users.active`: a member's first session made or refreshed that day, as
    /// `active_days` records it). Counted back from the rows already there.
    static let stats = Migration(
        version: 4,
        name: "daily figures: accounts, sign-ins, members seen",
        statements: [
            "ALTER TABLE sessions ADD COLUMN method text NOT NULL DEFAULT 'password' CHECK (method IN ('password', 'discord'))",
            // Sessions made before: an account without a password can only have signed in with Discord.
            "UPDATE sessions SET method = 'discord' FROM users WHERE users.id = sessions.user_id AND users.password_hash IS NULL",
            "CREATE TABLE active_days (day date NOT NULL, user_id uuid NOT NULL, PRIMARY KEY (day, user_id))",
            // Live sessions, counted now.
            "CREATE INDEX sessions_live ON sessions (expires_at) WHERE revoked_at IS NULL",
            """
            CREATE FUNCTION count_user() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
            BEGIN
                PERFORM count_daily('users.new', '', NEW.created_at, 1);
                RETURN NULL;
            END
            $$
            """,
            "CREATE TRIGGER users_counted AFTER INSERT ON users FOR EACH ROW EXECUTE FUNCTION count_user()",
            """
            CREATE FUNCTION count_session() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
            DECLARE
                seen integer;
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    PERFORM count_daily('logins', NEW.method, NEW.created_at, 1);
                END IF;
                INSERT INTO active_days (day, user_id) VALUES ((NEW.last_seen_at AT TIME ZONE 'UTC')::date, NEW.user_id)
                ON CONFLICT DO NOTHING;
                GET DIAGNOSTICS seen = ROW_COUNT;
                IF seen > 0 THEN
                    PERFORM count_daily('users.active', '', NEW.last_seen_at, 1);
                END IF;
                RETURN NULL;
            END
            $$
            """,
            """
            CREATE TRIGGER sessions_counted AFTER INSERT OR UPDATE OF last_seen_at ON sessions
            FOR EACH ROW EXECUTE FUNCTION count_session()
            """,
            """
            INSERT INTO daily_counts (metric, day, key, slot, value)
            SELECT 'users.new', (created_at AT TIME ZONE 'UTC')::date, '', 0, count(*) FROM users GROUP BY 2
            """,
            """
            INSERT INTO daily_counts (metric, day, key, slot, value)
            SELECT 'logins', (created_at AT TIME ZONE 'UTC')::date, method, 0, count(*) FROM sessions GROUP BY 2, 3
            """,
            """
            INSERT INTO active_days (day, user_id)
            SELECT (created_at AT TIME ZONE 'UTC')::date, user_id FROM sessions
            UNION SELECT (last_seen_at AT TIME ZONE 'UTC')::date, user_id FROM sessions
            """,
            """
            INSERT INTO daily_counts (metric, day, key, slot, value)
            SELECT 'users.active', day, '', 0, count(*) FROM active_days GROUP BY day
            """,
        ]
    )
}
