import Foundation
import GuildCore
import GuildServiceKit
import Hummingbird

/// VMs and their live status, availability and the schedule of a window, and public stats; admins
/// add and change VMs.
struct VMController: Sendable {
    let vms: VMRepository
    let catalogue: CatalogueRepository
    let config: RuntimeSettings<BookingConfig>

    var publicEndpoints: RouteCollection<GuildRequestContext> {
        RouteCollection(context: GuildRequestContext.self)
            .get("vms", use: list)
            .get("vms/:vm_id", use: show)
            .get("availability", use: availability)
            .get("schedule", use: schedule)
            .get("stats", use: stats)
    }

    var adminEndpoints: RouteCollection<AdminContext> {
        RouteCollection(context: AdminContext.self)
            .post("vms", use: add)
            .patch("vms", use: change)
            .patch("vms/:vm_id", use: change)
    }

    @Sendable func list(request: Request, context: GuildRequestContext) async throws -> [VMRepository.Listing] {
        try await vms.list(logger: context.logger)
    }

    @Sendable func show(request: Request, context: GuildRequestContext) async throws -> VMRepository.Listing {
        let id = context.parameters.get("vm_id") ?? ""
        guard BookingRules.isIdentifier(id), let listing = try await vms.list(id: id, logger: context.logger).first else {
            throw APIError.vmNotFound(id)
        }
        return listing
    }

    struct Availability: ResponseEncodable {
        var service: String?
        var startTime: Date
        var endTime: Date
        var duration: Int
        var vms: [VM]
        var count: Int
    }

    /// The VMs free for `[start, start + duration)`; with `service`, none when it takes no bookings.
    @Sendable func availability(request: Request, context: GuildRequestContext) async throws -> Availability {
        guard let start = try request.queryDate("start").map(BookingRules.wholeSeconds) else { throw APIError.invalidField("start", "is required") }
        let limits = config.current
        guard let duration = try request.query("duration", in: 1...BookingConfig.durationLimit) else { throw APIError.invalidField("duration", "is required") }
        try BookingRules.checkWindow(start: start, duration: duration, now: Date(), limits: limits, startField: "start")
        var open = true
        let serviceId = request.query("service")
        if let serviceId {
            guard BookingRules.isIdentifier(serviceId), let service = try await catalogue.service(id: serviceId, logger: context.logger) else {
                throw APIError.serviceNotFound(serviceId)
            }
            open = service.available
        }
        let end = start.addingTimeInterval(TimeInterval(duration) * 3600)
        let free = open ? try await vms.free(from: start, to: end, logger: context.logger) : []
        return Availability(service: serviceId, startTime: start, endTime: end, duration: duration, vms: free, count: free.count)
    }

    struct ScheduleAnswer: ResponseEncodable {
        var startTime: Date
        var endTime: Date
        var vms: [VMRepository.Schedule]
    }

    /// When each VM is taken over `[start, start + hours)` (default 24, at most a week): a day's
    /// timeline in one read.
    @Sendable func schedule(request: Request, context: GuildRequestContext) async throws -> ScheduleAnswer {
        guard let start = try request.queryDate("start").map(BookingRules.wholeSeconds) else { throw APIError.invalidField("start", "is required") }
        let hours = try request.query("hours", in: 1...168) ?? 24
        let end = start.addingTimeInterval(TimeInterval(hours) * 3600)
        return ScheduleAnswer(startTime: start, endTime: end, vms: try await vms.schedule(from: start, to: end, logger: context.logger))
    }

    @Sendable func stats(request: Request, context: GuildRequestContext) async throws -> VMRepository.Stats {
        try await vms.stats(logger: context.logger)
    }

    struct NewVM: Decodable {
        var id: String
        var name: String
        var region: String
        var cpu: Int
        var memory: Int
        var status: VM.Status?
    }

    @Sendable func add(request: Request, context: AdminContext) async throws -> EditedResponse<VMRepository.Listing> {
        let body = try await request.decodeJSON(as: NewVM.self, context: context)
        let vm = VM(
            id: try BookingRules.identifier(body.id, field: "id"),
            name: try BookingRules.text(body.name, field: "name"),
            status: body.status ?? .online,
            region: try BookingRules.text(body.region, field: "region", maximum: 32),
            cpu: try Self.cpu(body.cpu),
            memoryGB: try Self.memory(body.memory),
            statusChangedAt: Date()
        )
        try await vms.add(vm, logger: context.logger)
        guard let listing = try await vms.list(id: vm.id, logger: context.logger).first else { throw APIError.vmNotFound(vm.id) }
        return EditedResponse(status: .created, response: listing)
    }

    struct VMChange: Decodable {
        var id: String?
        var name: String?
        var status: VM.Status?
        var region: String?
        var cpu: Int?
        var memory: Int?
    }

    struct Changed: ResponseEncodable {
        var vm: VMRepository.Listing
        /// Bookings still to run on the VM, which an admin putting it in maintenance must look after.
        var affectedBookings: [Booking]
    }

    /// `PATCH /vms/{vm_id}` (or `PATCH /vms` with `id` in the body).
    @Sendable func change(request: Request, context: AdminContext) async throws -> Changed {
        let body = try await request.decodeChange(as: VMChange.self, context: context, ignoring: ["id"])
        guard let id = context.parameters.get("vm_id") ?? body.id else { throw APIError.invalidField("id", "is required") }
        let change = VMRepository.Change(
            name: try body.name.map { try BookingRules.text($0, field: "name") },
            status: body.status,
            region: try body.region.map { try BookingRules.text($0, field: "region", maximum: 32) },
            cpu: try body.cpu.map(Self.cpu),
            memoryGB: try body.memory.map(Self.memory)
        )
        guard BookingRules.isIdentifier(id), let affected = try await vms.change(id: id, change, logger: context.logger),
            let listing = try await vms.list(id: id, logger: context.logger).first
        else { throw APIError.vmNotFound(id) }
        context.logger.info("VM changed", metadata: ["vm_id": "\(id)", "status": "\(listing.vm.status.rawValue)", "affected_bookings": "\(affected.count)"])
        return Changed(vm: listing, affectedBookings: affected)
    }

    private static func cpu(_ value: Int) throws -> Int {
        guard (1...1024).contains(value) else { throw APIError.invalidField("cpu", "must be a whole number of vCPUs from 1 to 1024") }
        return value
    }

    private static func memory(_ value: Int) throws -> Int {
        guard (1...65536).contains(value) else { throw APIError.invalidField("memory", "must be a whole number of GiB from 1 to 65536") }
        return value
    }
}
