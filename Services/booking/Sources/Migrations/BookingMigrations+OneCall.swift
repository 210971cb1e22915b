import GuildMigrations

extension BookingMigrations {
    /// A booking in one call: `book` checks the service and the VM, takes the VM's turn (an
    /// advisory lock per VM, in id order when it picks the first free one), looks for an overlap,
    /// checks and charges the wallet, and writes the booking and its ledger entry — the statements
    /// a booking took one round trip each, planned once per connection instead of once a request.
    /// A refusal writes nothing and says why (`outcome`, the other columns null but a short
    /// wallet's `balance`); the exclusion constraint stays the
    /// guarantee against overlaps.
    static let oneCall = Migration(
        version: 6,
        name: "a booking in one call",
        statements: [
            """
            CREATE FUNCTION book(
                booker uuid, new_booking uuid, new_entry uuid, wanted_service text, wanted_realm text, wanted_game text,
                wanted_vm text, starts timestamptz, booked_hours integer
            ) RETURNS TABLE (outcome text, balance integer, vm text, created timestamptz)
            LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
            DECLARE
                ends timestamptz := starts + make_interval(hours => booked_hours);
                wanted_period tstzrange := tstzrange(starts, ends, '[)');
                service_open boolean;
                vm_status text;
                candidate text;
                chosen text;
                held integer;
            BEGIN
                SELECT s.available INTO service_open FROM services s WHERE s.id = wanted_service;
                IF NOT FOUND THEN
                    outcome := 'service_not_found';
                    RETURN NEXT;
                    RETURN;
                ELSIF NOT service_open THEN
                    outcome := 'service_unavailable';
                    RETURN NEXT;
                    RETURN;
                END IF;
                IF wanted_vm IS NOT NULL THEN
                    SELECT v.status INTO vm_status FROM vms v WHERE v.id = wanted_vm;
                    IF NOT FOUND THEN
                        outcome := 'vm_not_found';
                        RETURN NEXT;
                        RETURN;
                    ELSIF vm_status = 'maintenance' THEN
                        outcome := 'vm_in_maintenance';
                        RETURN NEXT;
                        RETURN;
                    END IF;
                    PERFORM pg_advisory_xact_lock(hashtext('booking.vm'), hashtext(wanted_vm));
                    IF EXISTS (SELECT 1 FROM bookings b WHERE b.vm_id = wanted_vm AND b.status <> 'cancelled' AND b.period && wanted_period) THEN
                        outcome := 'slot_taken';
                        RETURN NEXT;
                        RETURN;
                    END IF;
                    chosen := wanted_vm;
                ELSE
                    FOR candidate IN
                        SELECT v.id FROM vms v
                        WHERE v.status <> 'maintenance'
                          AND NOT EXISTS (SELECT 1 FROM bookings b WHERE b.vm_id = v.id AND b.status <> 'cancelled' AND b.period && wanted_period)
                        ORDER BY v.id
                    LOOP
                        PERFORM pg_advisory_xact_lock(hashtext('booking.vm'), hashtext(candidate));
                        IF NOT EXISTS (SELECT 1 FROM bookings b WHERE b.vm_id = candidate AND b.status <> 'cancelled' AND b.period && wanted_period) THEN
                            chosen := candidate;
                            EXIT;
                        END IF;
                    END LOOP;
                    IF chosen IS NULL THEN
                        outcome := 'no_vm_available';
                        RETURN NEXT;
                        RETURN;
                    END IF;
                END IF;
                SELECT w.balance INTO held FROM wallets w WHERE w.user_id = booker FOR UPDATE;
                IF coalesce(held, 0) < booked_hours THEN
                    outcome := 'insufficient_hours';
                    balance := coalesce(held, 0);
                    RETURN NEXT;
                    RETURN;
                END IF;
                INSERT INTO bookings (id, user_id, service_id, realm, game_name, vm_id, start_time, end_time, duration, hours_charged)
                VALUES (new_booking, booker, wanted_service, wanted_realm, wanted_game, chosen, starts, ends, booked_hours, booked_hours)
                RETURNING bookings.created_at INTO created;
                UPDATE wallets w SET balance = held - booked_hours, updated_at = now() WHERE w.user_id = booker;
                INSERT INTO ledger (id, user_id, delta, balance_after, kind, booking_id)
                VALUES (new_entry, booker, -booked_hours, held - booked_hours, 'booking', new_booking);
                outcome := 'booked';
                balance := held - booked_hours;
                vm := chosen;
                RETURN NEXT;
            END
            $$
            """,
        ]
    )
}
