import Foundation
import GuildCore
import GuildEvents
import GuildPostgres
import GuildServiceKit
import Logging
import PostgresNIO

/// A booking request that passed the edge's checks.
struct BookingDraft: Sendable {
    var userId: UUID
    var service: String
    var realm: String
    var gameName: String
    var vmId: String?
    var start: Date
    var duration: Int

    var end: Date { start.addingTimeInterval(TimeInterval(duration) * 3600) }
}

/// Bookings: made, listed, cancelled and moved along their lifecycle.
///
/// No two live bookings overlap on a VM: the `bookings_no_overlap` exclusion constraint decides
/// every race, and the hours charge commits in the same statement as the reservation.
struct BookingRepository: Sendable {
    let database: Database
    /// The settings in force: the refund of a cancellation, the limits of a booking.
    let config: RuntimeSettings<BookingConfig>

    // MARK: Booking

    /// Reserves a VM (the requested one, or the first free one) and charges the hours, in one
    /// call of the SQL function `book` (booking's migration 6).
    ///
    /// No two live bookings overlap on a VM: requests for one VM take turns on a
    /// transaction-scoped advisory lock and look before they insert (concurrent inserts of
    /// overlapping rows would otherwise wait on each other inside the exclusion constraint, and
    /// deadlock in a storm); locks are taken in VM id order, so transactions never wait on each
    /// other in a cycle. The constraint stays the guarantee; the lock only keeps the contention
    /// orderly. A refusal writes nothing.
    func create(_ draft: BookingDraft, key: IdempotencyKey?, logger: Logger) async throws -> StoredReply {
        try await database.idempotent(key, status: 201, oneStatement: true, logger: logger) { connection in
            let id = UUID.timeOrdered()
            let answer: (String, Int?, String?, Date?)?
            do {
                let rows = try await connection.query(
                    """
                    SELECT outcome, balance, vm, created FROM book(
                        \(draft.userId), \(id), \(UUID.timeOrdered()), \(draft.service), \(draft.realm), \(draft.gameName),
                        \(draft.vmId)::text, \(draft.start), \(draft.duration)::int)
                    """,
                    logger: logger
                )
                answer = try await rows.decode((String, Int?, String?, Date?).self).first { _ in true }
            } catch where DatabaseErrors.sqlState(error) == "23P01" {
                throw BookingFailure.slotTaken(vm: draft.vmId ?? "")
            }
            guard let (outcome, balance, vmId, createdAt) = answer else { throw BookingFailure.notWritten }
            switch outcome {
            case "service_not_found": throw BookingFailure.serviceNotFound(draft.service)
            case "service_unavailable": throw BookingFailure.serviceUnavailable(draft.service)
            case "vm_not_found": throw BookingFailure.vmNotFound(draft.vmId ?? "")
            case "vm_in_maintenance": throw BookingFailure.vmInMaintenance(draft.vmId ?? "")
            case "slot_taken": throw BookingFailure.slotTaken(vm: draft.vmId ?? "")
            case "no_vm_available": throw BookingFailure.noVMAvailable
            case "insufficient_hours": throw BookingFailure.insufficientHours(needed: draft.duration, balance: balance ?? 0)
            default: break
            }
            guard outcome == "booked", let vmId, let createdAt else { throw BookingFailure.notWritten }
            let booking = Booking(
                id: id, userId: draft.userId, service: draft.service, realm: draft.realm, gameName: draft.gameName, vmId: vmId,
                startTime: draft.start, endTime: draft.end, duration: draft.duration, hoursCharged: draft.duration, hoursRefunded: nil,
                status: .scheduled, createdAt: createdAt
            )
            logger.info("booking created", metadata: ["booking_id": "\(id)", "vm_id": "\(vmId)"])
            return config.current.refunds.shown(on: booking, at: Date())
        }
    }

    // MARK: Reading

    /// Which bookings a list shows.
    struct Filter: Sendable {
        /// Only this user's; nil for everyone's.
        var userId: UUID?
        var status: Booking.Status?
    }

    /// One page of bookings, newest first, after the booking `cursor`.
    func list(_ filter: Filter, after cursor: UUID?, limit: Int, logger: Logger) async throws -> [Booking] {
        let (refunds, now) = (config.current.refunds, Date())
        return try await database.connection(logger: logger) { connection in
            try await Self.decode(
                try await connection.query(
                    """
                    SELECT \(unescaped: Self.columns) FROM bookings
                    WHERE (\(filter.userId)::uuid IS NULL OR user_id = \(filter.userId))
                      AND (\(filter.status?.rawValue)::text IS NULL OR status = \(filter.status?.rawValue))
                      AND (\(cursor)::uuid IS NULL OR id < \(cursor))
                    ORDER BY id DESC LIMIT \(limit)
                    """,
                    logger: logger
                )
            )
        }.map { refunds.shown(on: $0, at: now) }
    }

    func find(id: UUID, logger: Logger) async throws -> Booking? {
        try await database.connection(logger: logger) { connection in
            try await Self.find(id: id, lock: false, on: connection, logger: logger)
        }.map { config.current.refunds.shown(on: $0, at: Date()) }
    }

    private static func find(id: UUID, lock: Bool, on connection: PostgresConnection, logger: Logger) async throws -> Booking? {
        let query: PostgresQuery = "SELECT \(unescaped: columns) FROM bookings WHERE id = \(id) \(unescaped: lock ? "FOR UPDATE" : "")"
        return try await decode(try await connection.query(query, logger: logger)).first
    }

    // MARK: Cancelling

    /// Cancels a booking once, refunding what the policy gives back; a second cancel is a 409.
    /// Owners and admins may cancel; a moderator gets 403, anyone else 404.
    func cancel(id: UUID, by caller: Caller, at now: Date, key: IdempotencyKey?, logger: Logger) async throws -> StoredReply {
        let refunds = config.current.refunds
        return try await database.idempotent(key, logger: logger) { connection in
            guard var booking = try await Self.find(id: id, lock: true, on: connection, logger: logger) else { throw BookingFailure.bookingNotFound }
            if booking.userId != caller.userId && caller.role != .admin {
                throw caller.role.isStaff ? BookingFailure.cancelNotAllowed : BookingFailure.bookingNotFound
            }
            guard let refund = refunds.refund(for: booking, at: now) else {
                throw BookingFailure.notCancellable(alreadyCancelled: booking.status == .cancelled)
            }
            try await connection.query(
                "UPDATE bookings SET status = 'cancelled', cancelled_at = \(now), hours_refunded = \(refund) WHERE id = \(id)",
                logger: logger
            )
            booking.status = .cancelled
            booking.hoursRefunded = refund
            if refund > 0 {
                _ = try await Ledger.post(
                    LedgerPosting(userId: booking.userId, delta: refund, kind: .refund, bookingId: id, actorId: caller.userId),
                    on: connection, logger: logger
                )
            }
            try await Outbox.write(try Self.event(EventType.bookingCancelled, booking, at: now), on: connection, logger: logger)
            logger.info("booking cancelled", metadata: ["booking_id": "\(id)", "hours_refunded": "\(refund)"])
            return booking
        }
    }

    // MARK: Lifecycle

    /// Moves due bookings along, scheduled → active then active → completed, each exactly once
    /// whichever replica gets there first (rows are claimed with `FOR UPDATE SKIP LOCKED` and
    /// the update re-checks the status), writing `booking.started` / `booking.ended` with it.
    /// Returns how many bookings it moved.
    func advance(to now: Date, batch: Int = 200, logger: Logger) async throws -> Int {
        let started = try await move(
            """
            WITH due AS (
                SELECT id FROM bookings WHERE status = 'scheduled' AND start_time <= \(now)
                ORDER BY start_time LIMIT \(batch) FOR UPDATE SKIP LOCKED
            )
            UPDATE bookings b SET status = 'active', started_at = \(now) FROM due WHERE b.id = due.id AND b.status = 'scheduled'
            RETURNING \(unescaped: Self.columns(of: "b."))
            """,
            announcing: EventType.bookingStarted, at: now, logger: logger
        )
        let ended = try await move(
            """
            WITH due AS (
                SELECT id FROM bookings WHERE status = 'active' AND end_time <= \(now)
                ORDER BY end_time LIMIT \(batch) FOR UPDATE SKIP LOCKED
            )
            UPDATE bookings b SET status = 'completed', ended_at = \(now) FROM due WHERE b.id = due.id AND b.status = 'active'
            RETURNING \(unescaped: Self.columns(of: "b."))
            """,
            announcing: EventType.bookingEnded, at: now, logger: logger
        )
        return started + ended
    }

    /// Runs one transition and writes its event for every booking it moved, in one transaction.
    private func move(_ transition: PostgresQuery, announcing type: String, at now: Date, logger: Logger) async throws -> Int {
        try await database.transaction(logger: logger) { connection in
            let bookings = try await Self.decode(try await connection.query(transition, logger: logger))
            for booking in bookings {
                try await Outbox.write(try Self.event(type, booking, at: now), on: connection, logger: logger)
            }
            return bookings.count
        }
    }

    /// Forgets idempotency keys past their retention.
    func pruneIdempotencyKeys(logger: Logger) async throws {
        try await database.connection(logger: logger) { connection in
            _ = try await connection.query(
                "DELETE FROM idempotency_keys WHERE created_at < now() - make_interval(secs => \(IdempotencyKey.retention))",
                logger: logger
            )
        }
    }

    // MARK: Rows and events

    /// The columns ``decode(_:)`` reads, in its order, each prefixed with `table` (`b.`, or none).
    static func columns(of table: String) -> String {
        ["id", "user_id", "service_id", "realm", "game_name", "vm_id", "start_time", "end_time", "duration", "hours_charged",
         "hours_refunded", "status", "created_at"].map { table + $0 }.joined(separator: ", ")
    }
    static let columns = columns(of: "")

    static func decode(_ rows: PostgresRowSequence) async throws -> [Booking] {
        var bookings: [Booking] = []
        for try await (id, userId, service, realm, gameName, vmId, start, end, duration, charged, refunded, status, createdAt) in rows.decode(
            (UUID, UUID, String, String, String, String, Date, Date, Int, Int, Int?, String, Date).self
        ) {
            bookings.append(
                Booking(
                    id: id, userId: userId, service: service, realm: realm, gameName: gameName, vmId: vmId, startTime: start, endTime: end,
                    duration: duration, hoursCharged: charged, hoursRefunded: refunded, status: Booking.Status(rawValue: status) ?? .scheduled,
                    createdAt: createdAt
                )
            )
        }
        return bookings
    }

    static func event(_ type: String, _ booking: Booking, at now: Date) throws -> EventEnvelope {
        let change = BookingChanged(
            bookingId: booking.id, vmId: booking.vmId, service: booking.service, startTime: booking.startTime, endTime: booking.endTime,
            hoursRefunded: booking.hoursRefunded
        )
        return try EventEnvelope(change, as: type, occurredAt: now, userId: booking.userId.uuidString.lowercased())
    }
}
