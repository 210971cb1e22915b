import Foundation
import GuildCore
import GuildPostgres
import GuildServiceKit
import Logging
import PostgresNIO

/// Services, packs and VMs: read by everyone, changed by admins.
struct CatalogueRepository: Sendable {
    let database: Database

    // MARK: Services

    func services(logger: Logger) async throws -> [BookableService] {
        try await database.connection(logger: logger) { connection in
            try await Self.services(where: nil, on: connection, logger: logger)
        }
    }

    func service(id: String, logger: Logger) async throws -> BookableService? {
        try await database.connection(logger: logger) { connection in
            try await Self.services(where: id, on: connection, logger: logger).first
        }
    }

    static func services(where id: String?, on connection: PostgresConnection, logger: Logger) async throws -> [BookableService] {
        let rows = try await connection.query(
            """
            SELECT id, type, name, price_per_hour_cents, available FROM services
            WHERE \(id)::text IS NULL OR id = \(id) ORDER BY created_at, id
            """,
            logger: logger
        )
        var services: [BookableService] = []
        for try await (id, type, name, cents, available) in rows.decode((String, String, String, Int, Bool).self) {
            services.append(BookableService(id: id, type: type, name: name, pricePerHour: Money(cents: cents), available: available))
        }
        return services
    }

    /// Adds a service; 409 when the id is taken.
    func add(_ service: BookableService, logger: Logger) async throws {
        try await database.insert(
            """
            INSERT INTO services (id, type, name, price_per_hour_cents, available)
            VALUES (\(service.id), \(service.type), \(service.name), \(service.pricePerHour.cents), \(service.available))
            """,
            ifTaken: BookingFailure.serviceExists(service.id), logger: logger
        )
    }

    /// Changes the given fields of a service; nil when there is none with that id.
    func change(service id: String, name: String?, pricePerHour: Money?, available: Bool?, logger: Logger) async throws -> BookableService? {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                """
                UPDATE services SET name = coalesce(\(name), name),
                    price_per_hour_cents = coalesce(\(pricePerHour?.cents), price_per_hour_cents),
                    available = coalesce(\(available), available)
                WHERE id = \(id) RETURNING id, type, name, price_per_hour_cents, available
                """,
                logger: logger
            )
            for try await (id, type, name, cents, available) in rows.decode((String, String, String, Int, Bool).self) {
                return BookableService(id: id, type: type, name: name, pricePerHour: Money(cents: cents), available: available)
            }
            return nil
        }
    }

    // MARK: Packs

    func packs(includingRetired: Bool = false, logger: Logger) async throws -> [Pack] {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                "SELECT id, name, hours, price_cents, currency, active FROM packs WHERE active OR \(includingRetired) ORDER BY hours, id",
                logger: logger
            )
            var packs: [Pack] = []
            for try await (id, name, hours, cents, currency, active) in rows.decode((String, String, Int, Int, String, Bool).self) {
                packs.append(Pack(id: id, name: name, hours: hours, price: Money(cents: cents), currency: currency, active: active))
            }
            return packs
        }
    }

    /// Adds a pack; 409 when the id is taken.
    func add(_ pack: Pack, logger: Logger) async throws {
        try await database.insert(
            """
            INSERT INTO packs (id, name, hours, price_cents, currency, active)
            VALUES (\(pack.id), \(pack.name), \(pack.hours), \(pack.price.cents), \(pack.currency), \(pack.active))
            """,
            ifTaken: BookingFailure.packExists(pack.id), logger: logger
        )
    }

    /// Changes the given fields of a pack (`active: false` retires it from the shop).
    func change(pack id: String, name: String?, hours: Int?, price: Money?, currency: String?, active: Bool?, logger: Logger) async throws -> Pack? {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                """
                UPDATE packs SET name = coalesce(\(name), name), hours = coalesce(\(hours), hours),
                    price_cents = coalesce(\(price?.cents), price_cents), currency = coalesce(\(currency), currency),
                    active = coalesce(\(active), active)
                WHERE id = \(id) RETURNING id, name, hours, price_cents, currency, active
                """,
                logger: logger
            )
            for try await (id, name, hours, cents, currency, active) in rows.decode((String, String, Int, Int, String, Bool).self) {
                return Pack(id: id, name: name, hours: hours, price: Money(cents: cents), currency: currency, active: active)
            }
            return nil
        }
    }
}
