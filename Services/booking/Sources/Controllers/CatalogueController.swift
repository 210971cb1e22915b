import Foundation
import GuildCore
import GuildServiceKit
import Hummingbird

/// Services with their prices, price estimates and shop packs: public to read, admins change them.
struct CatalogueController: Sendable {
    let catalogue: CatalogueRepository
    /// The discounts, and the rate of estimates that name no service.
    let config: RuntimeSettings<BookingConfig>

    var publicEndpoints: RouteCollection<GuildRequestContext> {
        RouteCollection(context: GuildRequestContext.self)
            .get("services", use: services)
            .get("price", use: price)
            .get("shop/packs", use: packs)
    }

    var adminEndpoints: RouteCollection<AdminContext> {
        RouteCollection(context: AdminContext.self)
            .post("services", use: addService)
            .patch("services/:service_id", use: changeService)
            .post("shop/packs", use: addPack)
            .patch("shop/packs/:pack_id", use: changePack)
            .get("admin/packs", use: allPacks)
    }

    // MARK: Services and prices

    @Sendable func services(request: Request, context: GuildRequestContext) async throws -> [BookableService] {
        try await catalogue.services(logger: context.logger)
    }

    @Sendable func price(request: Request, context: GuildRequestContext) async throws -> Pricing.Estimate {
        guard let hours = try request.query("hours", in: Pricing.hourRange) else { throw APIError.invalidField("hours", "is required") }
        let settings = config.current
        // Without a service, the estimate is at the base rate.
        guard let serviceId = request.query("service") else { return settings.pricing.estimate(hours: hours, pricePerHour: settings.basePrice) }
        guard BookingRules.isIdentifier(serviceId), let service = try await catalogue.service(id: serviceId, logger: context.logger) else {
            throw APIError.serviceNotFound(serviceId)
        }
        return settings.pricing.estimate(hours: hours, pricePerHour: service.pricePerHour)
    }

    struct NewService: Decodable {
        var id: String
        var type: String
        var name: String
        var pricePerHour: Money
        var available: Bool?
    }

    @Sendable func addService(request: Request, context: AdminContext) async throws -> EditedResponse<BookableService> {
        let body = try await request.decodeJSON(as: NewService.self, context: context)
        let service = BookableService(
            id: try BookingRules.identifier(body.id, field: "id"),
            type: try BookingRules.text(body.type, field: "type", maximum: 16),
            name: try BookingRules.text(body.name, field: "name"),
            pricePerHour: body.pricePerHour,
            available: body.available ?? true
        )
        try await catalogue.add(service, logger: context.logger)
        return EditedResponse(status: .created, response: service)
    }

    struct ServiceChange: Decodable {
        var name: String?
        var pricePerHour: Money?
        var available: Bool?
    }

    @Sendable func changeService(request: Request, context: AdminContext) async throws -> BookableService {
        let id = context.parameters.get("service_id") ?? ""
        let body = try await request.decodeChange(as: ServiceChange.self, context: context)
        let name = try body.name.map { try BookingRules.text($0, field: "name") }
        guard BookingRules.isIdentifier(id),
            let service = try await catalogue.change(service: id, name: name, pricePerHour: body.pricePerHour, available: body.available, logger: context.logger)
        else { throw APIError.serviceNotFound(id) }
        return service
    }

    // MARK: Packs

    @Sendable func packs(request: Request, context: GuildRequestContext) async throws -> [Pack] {
        try await catalogue.packs(logger: context.logger)
    }

    /// Every pack, retired ones too (admins: a retired pack can be put back on sale).
    @Sendable func allPacks(request: Request, context: AdminContext) async throws -> [Pack] {
        try await catalogue.packs(includingRetired: true, logger: context.logger)
    }

    struct NewPack: Decodable {
        var id: String
        var name: String
        var hours: Int
        var price: Money
        var currency: String?
    }

    @Sendable func addPack(request: Request, context: AdminContext) async throws -> EditedResponse<Pack> {
        let body = try await request.decodeJSON(as: NewPack.self, context: context)
        let pack = Pack(
            id: try BookingRules.identifier(body.id, field: "id"),
            name: try BookingRules.text(body.name, field: "name"),
            hours: try Self.packHours(body.hours),
            price: body.price,
            currency: try Self.currency(body.currency ?? "EUR"),
            active: true
        )
        try await catalogue.add(pack, logger: context.logger)
        return EditedResponse(status: .created, response: pack)
    }

    struct PackChange: Decodable {
        var name: String?
        var hours: Int?
        var price: Money?
        var currency: String?
        var active: Bool?
    }

    @Sendable func changePack(request: Request, context: AdminContext) async throws -> Pack {
        let id = context.parameters.get("pack_id") ?? ""
        let body = try await request.decodeChange(as: PackChange.self, context: context)
        let name = try body.name.map { try BookingRules.text($0, field: "name") }
        let hours = try body.hours.map(Self.packHours)
        let currency = try body.currency.map(Self.currency)
        guard BookingRules.isIdentifier(id),
            let pack = try await catalogue.change(
                pack: id, name: name, hours: hours, price: body.price, currency: currency, active: body.active, logger: context.logger
            )
        else { throw APIError.packNotFound(id) }
        return pack
    }

    private static func packHours(_ hours: Int) throws -> Int {
        guard (1...10_000).contains(hours) else { throw APIError.invalidField("hours", "must be a whole number from 1 to 10000") }
        return hours
    }

    private static func currency(_ code: String) throws -> String {
        guard code.count == 3, code.allSatisfy({ $0.isASCII && $0.isUppercase }) else {
            throw APIError.invalidField("currency", "must be a three-letter ISO 4217 code such as EUR")
        }
        return code
    }
}
