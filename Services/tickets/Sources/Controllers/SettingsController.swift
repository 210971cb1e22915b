import Foundation
import GuildCore
import GuildServiceKit
import Hummingbird

/// `GET /api/tickets/config`: the desk's settings, for anyone signed in (a member opening a
/// ticket picks one of its categories); `PUT`: admins change them.
struct SettingsController: Sendable {
    let tickets: TicketRepository

    var readEndpoints: RouteCollection<AuthenticatedContext> {
        RouteCollection(context: AuthenticatedContext.self).get("config", use: show)
    }

    var endpoints: RouteCollection<AdminContext> {
        RouteCollection(context: AdminContext.self).put("config", use: change)
    }

    @Sendable func show(request: Request, context: AuthenticatedContext) async throws -> DeskSettings {
        return try await tickets.settings(logger: context.logger)
    }

    /// Any of the settings; those not given stay as they are.
    struct Change: Decodable {
        var enabled: Bool?
        var maxOpenPerUser: Int?
        var autoCloseHours: Int?
        var transcriptEnabled: Bool?
        var categories: [String]?
    }

    @Sendable func change(request: Request, context: AdminContext) async throws -> DeskSettings {
        let body = try await request.decodeChange(as: Change.self, context: context)
        var settings = try await tickets.settings(logger: context.logger)
        settings.enabled = body.enabled ?? settings.enabled
        settings.maxOpenPerUser = body.maxOpenPerUser ?? settings.maxOpenPerUser
        settings.autoCloseHours = body.autoCloseHours ?? settings.autoCloseHours
        settings.transcriptEnabled = body.transcriptEnabled ?? settings.transcriptEnabled
        settings.categories = body.categories ?? settings.categories
        try TicketRules.check(settings)
        try await tickets.save(settings, logger: context.logger)
        context.logger.info("ticket settings changed")
        return settings
    }
}
