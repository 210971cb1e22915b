import GuildMigrations

extension BookingMigrations {
    /// Bookings as long as the settings allow (`longest_booking_hours`, at most 720), and the
    /// figures of `GET /api/booking/stats/admin`, kept by triggers: bookings by the day they were
    /// made and their status now (`bookings`, keyed by status: a change of status moves the count),
    /// hours reserved on each VM by the day they start (`vm_hours`, keyed by VM; a cancellation
    /// takes them back), and from the ledger hours booked, refunded and sold (`hours_sold`, keyed
    /// by pack). Counted back from the rows already there.
    static let stats = Migration(
        version: 5,
        name: "longer bookings; daily figures: bookings, VM hours, hours booked, refunded and sold",
        statements: [
            "ALTER TABLE bookings DROP CONSTRAINT bookings_duration_check",
            "ALTER TABLE bookings ADD CONSTRAINT bookings_duration_check CHECK (duration BETWEEN 1 AND 720)",
            """
            CREATE FUNCTION count_booking() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
            BEGIN
                IF TG_OP = 'INSERT' THEN
                    PERFORM count_daily('bookings', NEW.status, NEW.created_at, 1);
                    IF NEW.status <> 'cancelled' THEN
                        PERFORM count_daily('vm_hours', NEW.vm_id, NEW.start_time, NEW.duration);
                    END IF;
                ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
                    PERFORM count_daily('bookings', OLD.status, OLD.created_at, -1);
                    PERFORM count_daily('bookings', NEW.status, NEW.created_at, 1);
                    IF NEW.status = 'cancelled' THEN
                        PERFORM count_daily('vm_hours', OLD.vm_id, OLD.start_time, -OLD.duration);
                    END IF;
                END IF;
                RETURN NULL;
            END
            $$
            """,
            "CREATE TRIGGER bookings_counted AFTER INSERT OR UPDATE OF status ON bookings FOR EACH ROW EXECUTE FUNCTION count_booking()",
            """
            CREATE FUNCTION count_ledger_entry() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
            BEGIN
                CASE NEW.kind
                    WHEN 'booking' THEN PERFORM count_daily('hours_booked', '', NEW.created_at, -NEW.delta);
                    WHEN 'refund' THEN PERFORM count_daily('hours_refunded', '', NEW.created_at, NEW.delta);
                    WHEN 'purchase' THEN PERFORM count_daily('hours_sold', NEW.pack_id, NEW.created_at, NEW.delta);
                    ELSE NULL;
                END CASE;
                RETURN NULL;
            END
            $$
            """,
            "CREATE TRIGGER ledger_counted AFTER INSERT ON ledger FOR EACH ROW EXECUTE FUNCTION count_ledger_entry()",
            """
            INSERT INTO daily_counts (metric, day, key, slot, value)
            SELECT 'bookings', (created_at AT TIME ZONE 'UTC')::date, status, 0, count(*) FROM bookings GROUP BY 2, 3
            """,
            """
            INSERT INTO daily_counts (metric, day, key, slot, value)
            SELECT 'vm_hours', (start_time AT TIME ZONE 'UTC')::date, vm_id, 0, sum(duration) FROM bookings
            WHERE status <> 'cancelled' GROUP BY 2, 3
            """,
            """
            INSERT INTO daily_counts (metric, day, key, slot, value)
            SELECT CASE kind WHEN 'booking' THEN 'hours_booked' WHEN 'refund' THEN 'hours_refunded' ELSE 'hours_sold' END,
                (created_at AT TIME ZONE 'UTC')::date, coalesce(pack_id, ''), 0, sum(abs(delta))
            FROM ledger WHERE kind IN ('booking', 'refund', 'purchase') GROUP BY 1, 2, 3
            """,
        ]
    )
}
