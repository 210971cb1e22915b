import PostgresNIO

/// The tables of `RuntimeSettings` (GuildServiceKit), for the services that keep such settings.
public enum SettingsTables {
    /// Creates `settings` (one row; none until the first change) and `settings_history` (every
    /// change, with who made it and the settings before and after), as the service's `version`.
    public static func migration(version: Int) -> Migration {
        Migration(
            version: version,
            name: "settings and their history",
            statements: [
                """
                CREATE TABLE settings (
                    id boolean PRIMARY KEY DEFAULT true CHECK (id),
                    config jsonb NOT NULL,
                    version bigint NOT NULL,
                    changed_at timestamptz NOT NULL,
                    changed_by uuid NOT NULL
                )
                """,
                """
                CREATE TABLE settings_history (
                    id bigserial PRIMARY KEY,
                    changed_at timestamptz NOT NULL,
                    changed_by uuid NOT NULL,
                    before jsonb NOT NULL,
                    after jsonb NOT NULL
                )
                """,
            ]
        )
    }
}
