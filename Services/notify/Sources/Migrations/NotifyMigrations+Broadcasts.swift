import GuildMigrations

extension NotifyMigrations {
    /// Broadcasts, stored once and read per user (a user's read marks of single broadcasts and
    /// the moment they last read everything), and the progress of each one's push.
    static let broadcasts = Migration(
        version: 4,
        name: "broadcasts and read marks",
        statements: [
            """
            CREATE TABLE broadcasts (
                id uuid PRIMARY KEY,
                title text NOT NULL,
                message text NOT NULL,
                priority text NOT NULL CHECK (priority IN ('low', 'normal', 'high')),
                created_by uuid NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            "CREATE INDEX broadcasts_by_time ON broadcasts (created_at DESC, id DESC)",
            """
            CREATE TABLE broadcast_reads (
                user_id text NOT NULL,
                broadcast_id uuid NOT NULL REFERENCES broadcasts (id) ON DELETE CASCADE,
                PRIMARY KEY (user_id, broadcast_id)
            )
            """,
            // Everything created up to `read_all_at` is read for the user.
            """
            CREATE TABLE inbox_marks (
                user_id text PRIMARY KEY,
                read_all_at timestamptz NOT NULL
            )
            """,
            "CREATE INDEX notifications_unread ON notifications (user_id) WHERE read_at IS NULL",
            // A broadcast's push to every device, written into `push_jobs` a batch of users at a
            // time after the request (``BroadcastPusher``): the users up to `next_user` are done.
            """
            CREATE TABLE broadcast_pushes (
                broadcast_id uuid PRIMARY KEY REFERENCES broadcasts (id) ON DELETE CASCADE,
                next_user text NOT NULL DEFAULT '',
                finished_at timestamptz
            )
            """,
            // A user's inbox as one list: their own notifications and the broadcasts of the last
            // 30 days, each read or not for them. A plain SQL function, so PostgreSQL inlines it.
            """
            CREATE FUNCTION inbox_of(reader text)
            RETURNS TABLE (id uuid, kind text, title text, body text, read boolean, created_at timestamptz, priority text)
            LANGUAGE sql STABLE AS $$
                SELECT n.id, n.kind, n.title, n.body, n.read_at IS NOT NULL, n.created_at, NULL::text
                FROM notifications n WHERE n.user_id = reader
                UNION ALL
                SELECT b.id, 'broadcast', b.title, b.message,
                       r.broadcast_id IS NOT NULL OR b.created_at <= coalesce(m.read_all_at, '-infinity'), b.created_at, b.priority
                FROM broadcasts b
                LEFT JOIN broadcast_reads r ON r.broadcast_id = b.id AND r.user_id = reader
                LEFT JOIN inbox_marks m ON m.user_id = reader
                WHERE b.created_at > now() - interval '30 days'
            $$
            """,
        ]
    )
}
