import Foundation
import GuildCore
import GuildServiceKit
import Hummingbird

/// `GET /api/notifications`: the caller's inbox.
struct NotificationsController: Sendable {
    let repository: NotificationRepository

    var endpoints: RouteCollection<AuthenticatedContext> {
        let routes = RouteCollection(context: AuthenticatedContext.self)
        routes.get(use: list)
        return routes
    }

    /// What an inbox page carries beside its notifications.
    struct Unread: Encodable, Sendable {
        var unreadCount: Int
    }

    /// `{items, unread_count, next_cursor}`, newest first.
    @Sendable func list(request: Request, context: AuthenticatedContext) async throws -> Page<Notification> {
        let page = try PageRequest(request)
        let found = try await repository.page(userId: context.identity.userId, limit: page.fetchLimit, after: page.cursor, logger: context.logger)
        return Page(fetched: found.items, request: page, extra: Unread(unreadCount: found.unread)) { $0.id }
    }
}
