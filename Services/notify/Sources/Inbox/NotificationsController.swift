import Foundation
import GuildCore
import GuildPostgres
import GuildRedis
import GuildServiceKit
import Hummingbird

/// `/api/notifications`: the caller's inbox, its read state (kept in step on every device), and
/// broadcasts from the admins.
struct NotificationsController: Sendable {
    let repository: NotificationRepository
    let redis: RedisClient

    var endpoints: RouteCollection<AuthenticatedContext> {
        RouteCollection(context: AuthenticatedContext.self)
            .get(use: list)
            .post("read-all", use: readAll)
            .post(":notification_id/read", use: read)
    }

    var adminEndpoints: RouteCollection<AdminContext> {
        RouteCollection(context: AdminContext.self).post("broadcast", use: broadcast)
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

    struct Read: ResponseEncodable {
        var success = true
        var unreadCount: Int
    }

    /// Marks one entry read; the caller's other devices hear `notification_read {id}`.
    @Sendable func read(request: Request, context: AuthenticatedContext) async throws -> Read {
        let userId = context.identity.userId
        guard let text = context.parameters.get("notification_id"), let id = UUID(uuidString: text),
            let unread = try await repository.markRead(id, userId: userId, logger: context.logger)
        else { throw APIError.notificationNotFound }
        await tellDevices(userId, read: .string(id.uuidString.lowercased()), context: context)
        return Read(unreadCount: unread)
    }

    /// Marks the whole inbox read; the caller's other devices hear `notification_read {id: "all"}`.
    @Sendable func readAll(request: Request, context: AuthenticatedContext) async throws -> Read {
        let userId = context.identity.userId
        try await repository.markAllRead(userId: userId, logger: context.logger)
        await tellDevices(userId, read: .string("all"), context: context)
        return Read(unreadCount: 0)
    }

    private func tellDevices(_ userId: String, read id: JSONValue, context: AuthenticatedContext) async {
        let frame = ServerFrame.text(ServerFrame.NotificationRead(id: id))
        do {
            try await LiveConnections.publish(frame: frame, to: userId, redis: redis)
        } catch {
            // The read is stored; other devices see it at their next page load.
            context.logger.warning("notification_read not sent live", metadata: ["error": "\(error)"])
        }
    }

    struct NewBroadcast: Decodable {
        var title: String
        var message: String
        var priority: String?
    }

    /// `{title, message, priority}` (admins) → 201: stored once, in every user's inbox, sent live
    /// to every connection. A retry with the same `Idempotency-Key` goes out once.
    @Sendable func broadcast(request: Request, context: AdminContext) async throws -> Response {
        let body = try await request.decodeJSON(as: NewBroadcast.self, context: context)
        let title = body.title.trimmingCharacters(in: .whitespacesAndNewlines)
        let message = body.message.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...200).contains(title.count) else { throw APIError.invalidField("title", "must be 1 to 200 characters") }
        guard (1...2000).contains(message.count) else { throw APIError.invalidField("message", "must be 1 to 2000 characters") }
        let priority = body.priority ?? "normal"
        guard ["low", "normal", "high"].contains(priority) else { throw APIError.invalidField("priority", "must be low, normal or high") }
        let admin = context.caller.userId
        let key = try IdempotencyKey.from(request, owner: admin, fingerprint: "broadcast|\(title)|\(message)|\(priority)")
        let broadcast = Broadcast(id: UUID.timeOrdered(), title: title, message: message, priority: priority, createdAt: Date())
        let reply = try await repository.database.idempotent(key, status: 201, logger: context.logger) { connection in
            try await repository.insert(broadcast, by: admin, on: connection, logger: context.logger)
            return broadcast
        }
        if !reply.replayed {
            context.logger.info("broadcast sent", metadata: ["broadcast_id": "\(broadcast.id)"])
            let frame = ServerFrame.Broadcast(id: broadcast.id, title: title, message: message, priority: priority)
            do {
                try await LiveConnections.publishToEveryone(frame: ServerFrame.text(frame), redis: redis)
            } catch {
                // Stored: every inbox shows it at the next load.
                context.logger.warning("broadcast not sent live", metadata: ["error": "\(error)"])
            }
        }
        return reply.response
    }
}
