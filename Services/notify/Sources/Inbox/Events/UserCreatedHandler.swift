import Foundation
import GuildCore
import GuildEvents
import GuildRedis
import Logging
import PostgresNIO

/// `auth.user_created` → a welcome notification in the new user's inbox.
enum UserCreatedHandler {
    static func handler(inbox: NotificationRepository, redis: RedisClient) -> EventConsumer.Handler {
        { event, connection, logger in
            guard let userId = event.userId else { return }
            let name = (try? event.payload(UserCreated.self))?.username ?? "there"
            let title = "Welcome to Guildhall"
            let body = "Hi \(name)! Book game time, open a ticket when you need help, and level up by taking part."
            guard let id = try await inbox.insert(
                userId: userId, kind: "welcome", title: title, body: body,
                sourceEventId: event.id, occurredAt: event.occurredAt, on: connection, logger: logger
            ) else { return }  // written before: its frame went out then
            // Live delivery is best effort: the inbox row above is the record.
            let frame = ServerFrame.text(ServerFrame.Notification(id: id, title: title, body: body))
            try? await LiveConnections.publish(frame: frame, to: userId, redis: redis)
        }
    }
}
