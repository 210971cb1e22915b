@testable import BookingService
import Foundation
import GuildCore
import GuildMigrations
import GuildPostgres
import GuildServiceKit
import GuildTestSupport
import Logging
import PostgresNIO
import Testing

/// The booking schema against the test PostgreSQL: the guarantees that live in the database.
@Suite("booking: lifecycle once across replicas, an append-only ledger, balances never negative", .serialized, .watched)
struct BookingStoreTests {
    static let logger: Logger = {
        var logger = Logger(label: "booking-tests")
        logger.logLevel = .critical
        return logger
    }()

    /// Runs `body` on a fresh copy of the booking schema, dropped afterwards.
    func withBookingSchema(_ body: @Sendable (Database) async throws -> Void) async throws {
        try await withTestPostgres(schema: uniqueSchema("booking"), migrations: ServiceDescriptor.booking.migrations.migrations) { client in
            try await body(Database(source: client, deadline: .seconds(30)))
        }
    }

    func count(_ query: PostgresQuery, _ database: Database) async throws -> Int {
        try await database.connection(logger: Self.logger) { connection in
            try await connection.query(query, logger: Self.logger).decode(Int.self).first { _ in true } ?? -1
        }
    }

    @Test func fourReplicasAdvancingTogetherMoveEachBookingOnce() async throws {
        try await withBookingSchema { database in
            let base = Date().addingTimeInterval(3600)
            try await database.connection(logger: Self.logger) { connection in
                for index in 0..<40 {
                    let start = base.addingTimeInterval(TimeInterval(index / 5) * 3 * 3600)
                    _ = try await connection.query(
                        """
                        INSERT INTO bookings (id, user_id, service_id, realm, game_name, vm_id, start_time, end_time, duration, hours_charged)
                        VALUES (\(UUID.timeOrdered()), \(UUID()), 'bo', 'EU', 'x', \("vm\(index % 5)"), \(start),
                                \(start.addingTimeInterval(2 * 3600)), 2, 2)
                        """,
                        logger: Self.logger
                    )
                }
            }
            let bookings = BookingRepository(database: database, config: RuntimeSettings(database: database, defaults: .standard, changeEvent: EventType.bookingConfigChanged))
            let later = base.addingTimeInterval(100 * 3600)
            // Small batches so the replicas really interleave.
            let moved = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        var total = 0
                        while true {
                            let step = try await bookings.advance(to: later, batch: 3, logger: Self.logger)
                            if step == 0 { return total }
                            total += step
                        }
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(moved == 80)
            #expect(try await count("SELECT count(*) FROM bookings WHERE status = 'completed'", database) == 40)
            #expect(try await count("SELECT count(*) FROM outbox WHERE type = 'booking.started'", database) == 40)
            #expect(try await count("SELECT count(*) FROM outbox WHERE type = 'booking.ended'", database) == 40)
            #expect(try await count("SELECT count(DISTINCT data->>'booking_id') FROM outbox WHERE type = 'booking.ended'", database) == 40)
        }
    }

    @Test func aBookingThatIsNotDueStaysWhereItIs() async throws {
        try await withBookingSchema { database in
            let start = Date().addingTimeInterval(3600)
            try await database.connection(logger: Self.logger) { connection in
                _ = try await connection.query(
                    """
                    INSERT INTO bookings (id, user_id, service_id, realm, game_name, vm_id, start_time, end_time, duration, hours_charged)
                    VALUES (\(UUID.timeOrdered()), \(UUID()), 'bo', 'EU', 'x', 'vm0', \(start), \(start.addingTimeInterval(3600)), 1, 1)
                    """,
                    logger: Self.logger
                )
            }
            let bookings = BookingRepository(database: database, config: RuntimeSettings(database: database, defaults: .standard, changeEvent: EventType.bookingConfigChanged))
            #expect(try await bookings.advance(to: start.addingTimeInterval(-1), logger: Self.logger) == 0)
            #expect(try await bookings.advance(to: start, logger: Self.logger) == 1)
            #expect(try await count("SELECT count(*) FROM bookings WHERE status = 'active'", database) == 1)
        }
    }

    @Test func overlappingBookingsOnOneVMAreRefusedByTheDatabase() async throws {
        try await withBookingSchema { database in
            let start = Date().addingTimeInterval(3600)
            func insert(_ offsetHours: Double, vm: String = "vm0") async throws {
                let from = start.addingTimeInterval(offsetHours * 3600)
                try await database.connection(logger: Self.logger) { connection in
                    _ = try await connection.query(
                        """
                        INSERT INTO bookings (id, user_id, service_id, realm, game_name, vm_id, start_time, end_time, duration, hours_charged)
                        VALUES (\(UUID.timeOrdered()), \(UUID()), 'bo', 'EU', 'x', \(vm), \(from), \(from.addingTimeInterval(2 * 3600)), 2, 2)
                        """,
                        logger: Self.logger
                    )
                }
            }
            try await insert(0)
            await #expect { try await insert(1) } throws: { DatabaseErrors.sqlState($0) == "23P01" }
            try await insert(2)  // back to back: [start, end) ranges do not overlap
            try await insert(1, vm: "vm1")
        }
    }

    @Test func theLedgerIsAppendOnlyAndNoBalanceGoesNegative() async throws {
        try await withBookingSchema { database in
            let user = UUID()
            let (entry, balance) = try await database.transaction(logger: Self.logger) { connection in
                try await Ledger.post(LedgerPosting(userId: user, delta: 10, kind: .purchase, packId: "pack_10"), on: connection, logger: Self.logger)
            }
            #expect(balance == 10)
            await #expect {
                try await database.transaction(logger: Self.logger) { connection in
                    try await Ledger.post(LedgerPosting(userId: user, delta: -11, kind: .grant, reason: "x", actorId: UUID()), on: connection, logger: Self.logger)
                }
            } throws: { error in
                ((error as? PostgresTransactionError)?.closureError as? BookingFailure)?.apiError.code == "insufficient_hours"
            }
            for statement: PostgresQuery in ["UPDATE ledger SET delta = 1000", "DELETE FROM ledger", "TRUNCATE ledger"] {
                await #expect { try await database.connection(logger: Self.logger) { try await $0.query(statement, logger: Self.logger) } } throws: {
                    DatabaseErrors.sqlState($0) == "23001"
                }
            }
            #expect(try await count("SELECT balance FROM wallets WHERE user_id = \(user)", database) == 10)
            #expect(try await count("SELECT count(*) FROM ledger WHERE id = \(entry)", database) == 1)
            // An entry that names no cause is refused.
            await #expect { try await database.connection(logger: Self.logger) { connection in
                try await connection.query(
                    "INSERT INTO ledger (id, user_id, delta, balance_after, kind) VALUES (\(UUID()), \(user), 5, 15, 'purchase')",
                    logger: Self.logger
                )
            } } throws: { DatabaseErrors.sqlState($0) == "23514" }
        }
    }
}
