import PostgresNIO

/// The daily figures staff dashboards read (`/stats` routes), kept by the writers: each counted
/// change calls `count_daily(metric, key, at, delta)` in its own transaction, most from a trigger
/// on the table it changes, so no write path can miss its count and a dashboard reads at most a
/// few rows per day instead of the year of rows behind them.
public enum DailyCountTables {
    /// How many rows one day's count of a metric and key is spread over, so that writers counting
    /// the same thing at once do not queue on one row; readers sum them.
    public static let slots = 4

    /// Creates `daily_counts` and `count_daily(…)`.
    ///
    /// One of the kit's shared tables, below the services' own versions, in every schema.
    public static let migration = Migration(
        version: -4,
        name: "shared: daily counts",
        statements: [
            """
            CREATE TABLE IF NOT EXISTS daily_counts (
                metric text NOT NULL,
                day date NOT NULL,
                key text NOT NULL,
                slot smallint NOT NULL,
                value bigint NOT NULL,
                PRIMARY KEY (metric, day, key, slot)
            )
            """,
            """
            CREATE OR REPLACE FUNCTION count_daily(counted text, counted_key text, counted_at timestamptz, delta bigint)
            RETURNS void LANGUAGE sql SET search_path FROM CURRENT AS $$
                INSERT INTO daily_counts (metric, day, key, slot, value)
                VALUES (counted, (counted_at AT TIME ZONE 'UTC')::date, coalesce(counted_key, ''), pg_backend_pid() % \(unescaped: String(slots)), delta)
                ON CONFLICT (metric, day, key, slot) DO UPDATE SET value = daily_counts.value + EXCLUDED.value
            $$
            """,
        ]
    )
}
