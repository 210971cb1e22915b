import Foundation
import GuildCore
import GuildServiceKit
import Hummingbird

/// `GET /api/notifications`: the caller's inbox.
struct NotificationsController<Repository: NotificationRepository>: Sendable {
    let repository: Repository

    var endpoints: RouteCollection<AuthenticatedContext> {
        let routes = RouteCollection(context: AuthenticatedContext.self)
        routes.get(use: list)
        return routes
    }

    struct Page: ResponseEncodable {
        var items: [Notification]
        var unreadCount: Int
        var nextCursor: String?

        enum CodingKeys: String, CodingKey {
            case items
            case unreadCount = "unread_count"
            case nextCursor = "next_cursor"
        }

        /// `next_cursor` is always present: `null` on the last page.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(items, forKey: .items)
            try container.encode(unreadCount, forKey: .unreadCount)
            try container.encode(nextCursor, forKey: .nextCursor)
        }
    }

    @Sendable func list(request: Request, context: AuthenticatedContext) async throws -> Page {
        let limit = try Pagination.limit(request)
        let cursor = try Pagination.cursor(request)
        let page = try await repository.page(userId: context.identity.userId, limit: limit, after: cursor, logger: context.logger)
        let next = page.items.count == limit ? page.items.last?.id : nil
        return Page(items: page.items, unreadCount: page.unread, nextCursor: next)
    }
}
