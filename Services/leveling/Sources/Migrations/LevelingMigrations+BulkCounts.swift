import GuildMigrations

extension LevelingMigrations {
    /// Members by level counted once per statement for new profiles, not once per row: a row's
    /// trigger added one to the same counter row for each profile inserted, and a bulk insert of
    /// a million (an import, a restore) stacked a million versions of one row (ten minutes in
    /// PostgreSQL instead of seconds). Level changes and deletions are still counted per row.
    static let bulkCounts = Migration(
        version: 5,
        name: "members by level counted per statement on insert",
        statements: [
            "DROP TRIGGER profiles_counted ON profiles",
            """
            CREATE TRIGGER profiles_counted AFTER DELETE OR UPDATE OF level ON profiles
            FOR EACH ROW EXECUTE FUNCTION count_profile()
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
        ]
    )
}
