import Crypto
import Foundation
import GuildClients
import GuildCore
import GuildRedis
import GuildServiceKit
import Hummingbird

/// `POST /internal/notify` on the private listener, behind the shared secret: the bot (or
/// another service) tells a Discord member something; the account linked to that member gets
/// an inbox entry and the live `notification` frame on all of its connections.
struct BotNotifyController: Sendable {
    let users: UserDirectory
    let inbox: NotificationRepository
    let redis: RedisClient

    /// Under `/internal`.
    var endpoints: RouteCollection<GuildRequestContext> {
        RouteCollection(context: GuildRequestContext.self).post("notify", use: notify)
    }

    struct Body: Decodable {
        var discordId: String
        var action: String
        var plan: String?
        var metadata: JSONValue?

        // The metadata is the caller's, read with its keys as they are.
        enum CodingKeys: String, CodingKey {
            case discordId = "discord_id", action, plan, metadata
        }
    }

    struct Answer: ResponseEncodable {
        var success: Bool
        var message: String
        /// False when this was a repeat (same `Idempotency-Key`) of a notification sent before.
        var notificationSent: Bool
    }

    /// `{discord_id, action, plan?, metadata}` → `{success, message, notification_sent}`; 404
    /// `member_not_found` when no account is linked to the member. With an `Idempotency-Key`, a
    /// retry adds nothing.
    @Sendable func notify(request: Request, context: GuildRequestContext) async throws -> Answer {
        let body = try await request.decodeJSON(as: Body.self, context: context, decoder: JSONDecoder(), freeForm: ["metadata"])
        guard DiscordId.isValid(body.discordId) else { throw APIError.notADiscordId() }
        guard (1...64).contains(body.action.utf8.count),
            body.action.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F || $0 == 0x2E || $0 == 0x2D })
        else { throw APIError.invalidField("action", "must be 1 to 64 lower-case letters, digits, _, . or -") }
        if let plan = body.plan, !(1...64).contains(plan.count) { throw APIError.invalidField("plan", "must be 1 to 64 characters") }
        if let metadata = body.metadata {
            guard case .object = metadata else { throw APIError.invalidField("metadata", "must be an object") }
        }
        let (title, text) = try Self.text(action: body.action, plan: body.plan, metadata: body.metadata)
        guard let account = try await users.accountLinked(toDiscord: body.discordId), !account.disabled else { throw APIError.memberNotFound }
        let userId = account.userId.uuidString.lowercased()
        let source = try Self.sourceId(request: request, discordId: body.discordId)
        let kind = "bot." + body.action
        let id = try await inbox.database.transaction(logger: context.logger) { connection in
            try await inbox.insert(
                userId: userId, kind: kind, title: title, body: text, sourceEventId: source, on: connection, logger: context.logger
            )
        }
        guard let id else { return Answer(success: true, message: "sent before (same Idempotency-Key)", notificationSent: false) }
        let frame = ServerFrame.Notification(id: id, title: title, body: text)
        try? await LiveConnections.publish(frame: ServerFrame.text(frame), to: userId, redis: redis)
        return Answer(success: true, message: "notification sent", notificationSent: true)
    }

    /// The entry's title and text: `metadata.title` / `metadata.message` when given, otherwise
    /// the action in words and the plan.
    static func text(action: String, plan: String?, metadata: JSONValue?) throws -> (String, String) {
        for field in ["title", "message"] {
            if let value = metadata?[field], value.stringValue == nil { throw APIError.invalidField("metadata.\(field)", "must be a string") }
        }
        let words = action.replacingOccurrences(of: "_", with: " ").replacingOccurrences(of: ".", with: " ")
        let title = metadata?["title"]?.stringValue ?? words.prefix(1).uppercased() + words.dropFirst()
        let text = metadata?["message"]?.stringValue ?? plan.map { "Plan: \($0)" } ?? ""
        guard (1...200).contains(title.count) else { throw APIError.invalidField("metadata.title", "must be 1 to 200 characters") }
        guard text.count <= 2000 else { throw APIError.invalidField("metadata.message", "must be at most 2000 characters") }
        return (title, text)
    }

    /// The entry's source id: from the `Idempotency-Key` (so a retry meets the first entry), or new.
    static func sourceId(request: Request, discordId: String) throws -> UUID {
        guard let key = request.headers[.idempotencyKey] else { return UUID() }
        guard (1...128).contains(key.utf8.count), key.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else {
            throw APIError.invalidField("Idempotency-Key", "must be 1 to 128 visible ASCII characters")
        }
        var bytes = Array(SHA256.hash(data: Data("bot-notify|\(discordId)|\(key)".utf8)).prefix(16))
        bytes[6] = 0x50 | (bytes[6] & 0x0F)
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }
}
