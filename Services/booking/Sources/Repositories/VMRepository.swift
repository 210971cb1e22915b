import Foundation
import GuildCore
import GuildPostgres
import GuildServiceKit
import Logging
import Hummingbird
import PostgresNIO

/// VMs with their live state, availability for a window, and the public stats.
struct VMRepository: Sendable {
    let database: Database

    /// A VM as `GET /api/booking/vms` shows it.
    struct Listing: ResponseEncodable, Sendable {
        /// The booking running on the VM now (no user is named: the list is public).
        struct Current: Encodable, Sendable {
            var id: UUID
            var service: String
            var startTime: Date
            var endTime: Date
        }

        var vm: VM
        var currentBooking: Current?
        var now: Date

        enum CodingKeys: String, CodingKey {
            case id, name, status, region, cpu, memory, uptime, currentBooking
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(vm.id, forKey: .id)
            try container.encode(vm.name, forKey: .name)
            try container.encode(vm.status, forKey: .status)
            try container.encode(currentBooking, forKey: .currentBooking)
            try container.encode(vm.region, forKey: .region)
            try container.encode(vm.cpu, forKey: .cpu)
            try container.encode(vm.memoryGB, forKey: .memory)
            // Seconds the VM has been online; 0 while it is not.
            try container.encode(vm.status == .online ? max(0, Int(now.timeIntervalSince(vm.statusChangedAt))) : 0, forKey: .uptime)
        }
    }

    /// Every VM (or just `id`) with the booking running on it now.
    func list(id: String? = nil, logger: Logger) async throws -> [Listing] {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT v.id, v.name, v.status, v.region, v.cpu, v.memory_gb, v.status_changed_at, now(),
                       b.id, b.service_id, b.start_time, b.end_time
                FROM vms v LEFT JOIN LATERAL (
                    SELECT id, service_id, start_time, end_time FROM bookings
                    WHERE vm_id = v.id AND status <> 'cancelled' AND period @> now() LIMIT 1
                ) b ON true
                WHERE \(id)::text IS NULL OR v.id = \(id)
                ORDER BY v.id
                """,
                logger: logger
            )
            var listings: [Listing] = []
            for try await (id, name, status, region, cpu, memory, changed, now, bookingId, service, start, end) in rows.decode(
                (String, String, String, String, Int, Int, Date, Date, UUID?, String?, Date?, Date?).self
            ) {
                let vm = VM(id: id, name: name, status: VM.Status(rawValue: status) ?? .offline, region: region, cpu: cpu, memoryGB: memory, statusChangedAt: changed)
                var current: Listing.Current?
                if let bookingId, let service, let start, let end { current = .init(id: bookingId, service: service, startTime: start, endTime: end) }
                listings.append(Listing(vm: vm, currentBooking: current, now: now))
            }
            return listings
        }
    }

    /// Adds a VM; 409 when the id is taken.
    func add(_ vm: VM, logger: Logger) async throws {
        try await database.insert(
            """
            INSERT INTO vms (id, name, status, region, cpu, memory_gb)
            VALUES (\(vm.id), \(vm.name), \(vm.status.rawValue), \(vm.region), \(vm.cpu), \(vm.memoryGB))
            """,
            ifTaken: BookingFailure.vmExists(vm.id), logger: logger
        )
    }

    /// The fields an admin may change.
    struct Change: Sendable {
        var name: String?
        var status: VM.Status?
        var region: String?
        var cpu: Int?
        var memoryGB: Int?
    }

    /// Changes a VM and returns the bookings still to run on it (scheduled, or active now):
    /// maintenance never deletes them, the admin sees what is affected. Nil when there is no such VM.
    func change(id: String, _ change: Change, logger: Logger) async throws -> [Booking]? {
        try await database.transaction(logger: logger) { connection in
            let updated = try await connection.query(
                """
                UPDATE vms SET name = coalesce(\(change.name), name), region = coalesce(\(change.region), region),
                    cpu = coalesce(\(change.cpu), cpu), memory_gb = coalesce(\(change.memoryGB), memory_gb),
                    status_changed_at = CASE WHEN coalesce(\(change.status?.rawValue), status) <> status THEN now() ELSE status_changed_at END,
                    status = coalesce(\(change.status?.rawValue), status)
                WHERE id = \(id) RETURNING id
                """,
                logger: logger
            )
            var found = false
            for try await _ in updated { found = true }
            guard found else { return nil }
            return try await BookingRepository.decode(
                try await connection.query(
                    """
                    SELECT \(unescaped: BookingRepository.columns) FROM bookings WHERE vm_id = \(id) AND status IN ('scheduled', 'active') ORDER BY start_time
                    """,
                    logger: logger
                )
            )
        }
    }

    /// The VMs that take bookings and are free for all of `[start, end)`.
    func free(from start: Date, to end: Date, logger: Logger) async throws -> [VM] {
        try await database.connection(logger: logger) { connection in
            try await Self.free(from: start, to: end, on: connection, logger: logger)
        }
    }

    /// The same on a given connection, in id order.
    static func free(from start: Date, to end: Date, on connection: PostgresConnection, logger: Logger) async throws -> [VM] {
        let rows = try await connection.query(
            """
            SELECT v.id, v.name, v.status, v.region, v.cpu, v.memory_gb, v.status_changed_at FROM vms v
            WHERE v.status <> 'maintenance' AND NOT EXISTS (
                SELECT 1 FROM bookings b
                WHERE b.vm_id = v.id AND b.status <> 'cancelled' AND b.period && tstzrange(\(start), \(end), '[)')
            )
            ORDER BY v.id
            """,
            logger: logger
        )
        var vms: [VM] = []
        for try await (id, name, status, region, cpu, memory, changed) in rows.decode((String, String, String, String, Int, Int, Date).self) {
            vms.append(VM(id: id, name: name, status: VM.Status(rawValue: status) ?? .offline, region: region, cpu: cpu, memoryGB: memory, statusChangedAt: changed))
        }
        return vms
    }

    /// One VM's bookings over a window, as the public schedule shows them: when it is taken, not by whom.
    struct Schedule: ResponseEncodable, Sendable {
        struct Taken: ResponseEncodable, Sendable {
            var startTime: Date
            var endTime: Date
        }
        var id: String
        var name: String
        var status: VM.Status
        var taken: [Taken]
    }

    /// Every VM with the bookings (not cancelled) that overlap `[start, end)`, in start order.
    func schedule(from start: Date, to end: Date, logger: Logger) async throws -> [Schedule] {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT v.id, v.name, v.status, b.start_time, b.end_time FROM vms v
                LEFT JOIN bookings b ON b.vm_id = v.id AND b.status <> 'cancelled' AND b.period && tstzrange(\(start), \(end), '[)')
                ORDER BY v.id, b.start_time
                """,
                logger: logger
            )
            var schedules: [Schedule] = []
            for try await (id, name, status, takenStart, takenEnd) in rows.decode((String, String, String, Date?, Date?).self) {
                if schedules.last?.id != id {
                    schedules.append(Schedule(id: id, name: name, status: VM.Status(rawValue: status) ?? .offline, taken: []))
                }
                if let takenStart, let takenEnd { schedules[schedules.count - 1].taken.append(.init(startTime: takenStart, endTime: takenEnd)) }
            }
            return schedules
        }
    }

    /// `GET /api/booking/stats`.
    struct Stats: ResponseEncodable, Sendable {
        var totalServers: Int
        var activeBookings: Int
        var availableServers: Int
        var totalPlayers: Int
    }

    /// Servers, bookings running now, online VMs free now, and everyone who has booked.
    func stats(logger: Logger) async throws -> Stats {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT (SELECT count(*) FROM vms),
                       (SELECT count(*) FROM bookings WHERE status <> 'cancelled' AND period @> now()),
                       (SELECT count(*) FROM vms v WHERE v.status = 'online' AND NOT EXISTS (
                            SELECT 1 FROM bookings b WHERE b.vm_id = v.id AND b.status <> 'cancelled' AND b.period @> now())),
                       (SELECT count(DISTINCT user_id) FROM bookings WHERE status <> 'cancelled')
                """,
                logger: logger
            )
            for try await (servers, active, available, players) in rows.decode((Int, Int, Int, Int).self) {
                return Stats(totalServers: servers, activeBookings: active, availableServers: available, totalPlayers: players)
            }
            return Stats(totalServers: 0, activeBookings: 0, availableServers: 0, totalPlayers: 0)
        }
    }
}
