import GuildMigrations

/// The `booking` schema's own migrations, listed in ``GuildServiceKit/ServiceDescriptor/booking``. The
/// kit adds the shared event and idempotency tables; version 1, which made the event tables before
/// the kit owned them, is retired and never reused.
public enum BookingMigrations {
    /// Services, VMs and shop packs, with the seeded catalogue.
    static let catalogue = Migration(
        version: 2,
        name: "catalogue: services, vms, packs",
        statements: [
            """
            CREATE TABLE services (
                id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
                type text NOT NULL,
                name text NOT NULL,
                price_per_hour_cents integer NOT NULL CHECK (price_per_hour_cents BETWEEN 0 AND 10000000),
                available boolean NOT NULL DEFAULT true,
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            INSERT INTO services (id, type, name, price_per_hour_cents) VALUES
                ('ench', 'ENCH', 'Enchanting', 100),
                ('bo', 'BO', 'Buy-out run', 150),
                ('kd', 'KD', 'Key dungeon', 200),
                ('boss', 'BOSS', 'Boss kill', 300)
            """,
            """
            CREATE TABLE vms (
                id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
                name text NOT NULL,
                status text NOT NULL DEFAULT 'online' CHECK (status IN ('online', 'offline', 'maintenance')),
                region text NOT NULL,
                cpu integer NOT NULL CHECK (cpu BETWEEN 1 AND 1024),
                memory_gb integer NOT NULL CHECK (memory_gb BETWEEN 1 AND 65536),
                status_changed_at timestamptz NOT NULL DEFAULT now(),
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            INSERT INTO vms (id, name, region, cpu, memory_gb) VALUES
                ('vm0', 'VM 0', 'eu-west', 4, 16),
                ('vm1', 'VM 1', 'eu-west', 4, 16),
                ('vm2', 'VM 2', 'eu-west', 8, 32),
                ('vm3', 'VM 3', 'us-east', 4, 16),
                ('vm4', 'VM 4', 'us-east', 8, 32)
            """,
            """
            CREATE TABLE packs (
                id text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
                name text NOT NULL,
                hours integer NOT NULL CHECK (hours BETWEEN 1 AND 10000),
                price_cents integer NOT NULL CHECK (price_cents BETWEEN 0 AND 100000000),
                currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
                active boolean NOT NULL DEFAULT true,
                created_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            INSERT INTO packs (id, name, hours, price_cents, currency) VALUES
                ('pack_10', '10 hours', 10, 999, 'EUR'),
                ('pack_25', '25 hours', 25, 2299, 'EUR'),
                ('pack_50', '50 hours', 50, 3999, 'EUR')
            """,
        ]
    )

    /// Bookings that can never overlap on a VM, the append-only hours ledger and wallets. (Schemas made
    /// before the kit owned the idempotency keys got their table here too; the name stays as applied.)
    static let ledgerAndBookings = Migration(
        version: 3,
        name: "bookings, ledger, wallets, idempotency keys",
        statements: [
            "CREATE EXTENSION IF NOT EXISTS btree_gist",
            """
            CREATE TABLE bookings (
                id uuid PRIMARY KEY,
                user_id uuid NOT NULL,
                service_id text NOT NULL REFERENCES services (id),
                realm text NOT NULL,
                game_name text NOT NULL,
                vm_id text NOT NULL REFERENCES vms (id),
                start_time timestamptz NOT NULL,
                end_time timestamptz NOT NULL,
                duration integer NOT NULL CHECK (duration BETWEEN 1 AND 72),
                hours_charged integer NOT NULL CHECK (hours_charged >= 0),
                hours_refunded integer CHECK (hours_refunded BETWEEN 0 AND hours_charged),
                status text NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'active', 'completed', 'cancelled')),
                period tstzrange GENERATED ALWAYS AS (tstzrange(start_time, end_time, '[)')) STORED,
                created_at timestamptz NOT NULL DEFAULT now(),
                started_at timestamptz,
                ended_at timestamptz,
                cancelled_at timestamptz,
                CHECK (end_time = start_time + make_interval(hours => duration)),
                CHECK ((status = 'cancelled') = (cancelled_at IS NOT NULL)),
                -- Two live bookings never share a VM at overlapping times, whatever the concurrency.
                CONSTRAINT bookings_no_overlap EXCLUDE USING gist (vm_id WITH =, period WITH &&) WHERE (status <> 'cancelled')
            )
            """,
            "CREATE INDEX bookings_by_user ON bookings (user_id, id DESC)",
            "CREATE INDEX bookings_due_to_start ON bookings (start_time) WHERE status = 'scheduled'",
            "CREATE INDEX bookings_due_to_end ON bookings (end_time) WHERE status = 'active'",
            """
            CREATE TABLE wallets (
                user_id uuid PRIMARY KEY,
                balance integer NOT NULL CHECK (balance >= 0),
                updated_at timestamptz NOT NULL DEFAULT now()
            )
            """,
            """
            CREATE TABLE ledger (
                id uuid PRIMARY KEY,
                user_id uuid NOT NULL REFERENCES wallets (user_id),
                delta integer NOT NULL CHECK (delta <> 0),
                balance_after integer NOT NULL CHECK (balance_after >= 0),
                kind text NOT NULL CHECK (kind IN ('purchase', 'booking', 'refund', 'grant')),
                booking_id uuid REFERENCES bookings (id),
                pack_id text REFERENCES packs (id),
                reason text,
                actor_id uuid,
                created_at timestamptz NOT NULL DEFAULT now(),
                -- Every entry names its cause.
                CHECK ((kind IN ('booking', 'refund')) = (booking_id IS NOT NULL)),
                CHECK ((kind = 'purchase') = (pack_id IS NOT NULL)),
                CHECK (kind <> 'grant' OR (reason IS NOT NULL AND actor_id IS NOT NULL)),
                CHECK (kind NOT IN ('purchase', 'refund') OR delta > 0),
                CHECK (kind <> 'booking' OR delta < 0)
            )
            """,
            "CREATE INDEX ledger_by_user ON ledger (user_id, id DESC)",
            // A booking is charged once and refunded at most once.
            "CREATE UNIQUE INDEX ledger_one_charge_per_booking ON ledger (booking_id) WHERE kind = 'booking'",
            "CREATE UNIQUE INDEX ledger_one_refund_per_booking ON ledger (booking_id) WHERE kind = 'refund'",
            """
            CREATE FUNCTION ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the hours ledger is append-only' USING ERRCODE = 'restrict_violation';
            END
            $$
            """,
            "CREATE TRIGGER ledger_append_only BEFORE UPDATE OR DELETE ON ledger FOR EACH ROW EXECUTE FUNCTION ledger_is_append_only()",
            "CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger FOR EACH STATEMENT EXECUTE FUNCTION ledger_is_append_only()",
        ]
    )

    /// The admins' settings (one row; none until the first change: the environment's hold) and
    /// every change of them, with who made it and the settings before and after.
    static let settings = SettingsTables.migration(version: 4)
}
