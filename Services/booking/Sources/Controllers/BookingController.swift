import Foundation
import GuildCore
import GuildPostgres
import GuildServiceKit
import Hummingbird

/// `/api/booking/bookings`: book, list, look up and cancel.
struct BookingController: Sendable {
    let bookings: BookingRepository

    var endpoints: RouteCollection<AuthenticatedContext> {
        RouteCollection(context: AuthenticatedContext.self)
            .post("bookings", use: create)
            .get("bookings", use: list)
            .get("bookings/:booking_id", use: show)
            .post("bookings/:booking_id/cancel", use: cancel)
    }

    struct CreateRequest: Decodable {
        var service: String
        var realm: String
        var duration: Int
        var startTime: Date
        var gameName: String
        var vmId: String?
    }

    @Sendable func create(request: Request, context: AuthenticatedContext) async throws -> Response {
        let caller = context.caller
        let body = try await request.decodeJSON(as: CreateRequest.self, context: context)
        let start = BookingRules.wholeSeconds(body.startTime)
        try BookingRules.checkWindow(start: start, duration: body.duration, now: Date(), limits: bookings.config.current)
        let draft = BookingDraft(
            userId: caller.userId,
            service: try BookingRules.identifier(body.service, field: "service"),
            realm: try BookingRules.text(body.realm, field: "realm"),
            gameName: try BookingRules.text(body.gameName, field: "game_name"),
            vmId: try body.vmId.map { try BookingRules.identifier($0, field: "vm_id") },
            start: start,
            duration: body.duration
        )
        let fingerprint = "book|\(draft.service)|\(draft.realm)|\(draft.gameName)|\(draft.vmId ?? "")|\(RFC3339.format(start))|\(draft.duration)"
        let key = try IdempotencyKey.from(request, owner: caller.userId, fingerprint: fingerprint)
        return try await bookings.create(draft, key: key, logger: context.logger).response
    }

    @Sendable func list(request: Request, context: AuthenticatedContext) async throws -> Page<Booking> {
        let page = try PageRequest(request)
        let status = try request.query("status").map { text in
            guard let status = Booking.Status(rawValue: text) else {
                throw APIError.invalidField("status", "must be one of \(Booking.Status.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return status
        }
        var filter = BookingRepository.Filter(userId: try context.subject(of: request), status: status)
        if request.uri.queryParameters["user_id"] == nil, try request.queryBool("all") == true {
            try context.requireStaff()
            filter.userId = nil
        }
        let found = try await bookings.list(filter, after: page.cursor, limit: page.fetchLimit, logger: context.logger)
        return Page(fetched: found, request: page) { $0.id }
    }

    @Sendable func show(request: Request, context: AuthenticatedContext) async throws -> Booking {
        let caller = context.caller
        let id = try context.parameters.uuid("booking_id", or: .bookingNotFound)
        guard let booking = try await bookings.find(id: id, logger: context.logger), booking.userId == caller.userId || caller.isStaff else {
            throw APIError.bookingNotFound
        }
        return booking
    }

    @Sendable func cancel(request: Request, context: AuthenticatedContext) async throws -> Response {
        let caller = context.caller
        let id = try context.parameters.uuid("booking_id", or: .bookingNotFound)
        let key = try IdempotencyKey.from(request, owner: caller.userId, fingerprint: "cancel|\(id.uuidString.lowercased())")
        return try await bookings.cancel(id: id, by: caller, at: Date(), key: key, logger: context.logger).response
    }
}
