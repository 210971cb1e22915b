import Foundation
import GuildCore
import GuildPostgres
import GuildServiceKit
import Hummingbird

/// Push devices and the admins' test send, under `/api/notifications`:
/// `POST /register-token`, `DELETE /register-token` (signed-in users) and `POST /test` (admins).
struct PushController: Sendable {
    let tokens: PushTokenRepository
    /// FCM; nil when push is off.
    let fcm: FCMClient?
    let metrics: PushMetrics
    let database: Database

    var endpoints: RouteCollection<AuthenticatedContext> {
        RouteCollection(context: AuthenticatedContext.self)
            .post("register-token", use: register)
            .delete("register-token", use: unregister)
    }

    var adminEndpoints: RouteCollection<AdminContext> {
        RouteCollection(context: AdminContext.self).post("test", use: test)
    }

    // MARK: Devices

    /// `{fcm_token, platform}`; fields are read loosely so a wrong one is named in the 400.
    struct Registration: Decodable {
        var fcmToken: JSONValue?
        var platform: JSONValue?
    }

    /// Registers the caller's device: the token becomes theirs on `platform`, whoever held it before.
    @Sendable func register(request: Request, context: AuthenticatedContext) async throws -> Success {
        let body = try await request.decodeJSON(as: Registration.self, context: context)
        let token = try Self.token(body.fcmToken)
        let platforms = PushPlatform.allCases.map(\.rawValue)
        guard let name = try Self.string(body.platform, "platform"), let platform = PushPlatform(rawValue: name) else {
            throw APIError.invalidField("platform", "must be one of \(platforms.joined(separator: ", "))")
        }
        let userId = context.identity.userId
        try await tokens.register(token, userId: userId, platform: platform, logger: context.logger)
        context.logger.info("push token registered", metadata: ["platform": "\(platform.rawValue)"])
        return Success()
    }

    /// `{fcm_token}`, for a `DELETE` that carries its token in the body.
    struct TokenOnly: Decodable {
        var fcmToken: JSONValue?
    }

    /// Removes one of the caller's devices, named by `?fcm_token=` or `{fcm_token}`; 404 when the caller has no such token.
    @Sendable func unregister(request: Request, context: AuthenticatedContext) async throws -> Success {
        let token: String
        if let given = request.query("fcm_token") {
            token = try Self.token(.string(given))
        } else {
            var request = request
            let collected: ByteBuffer
            do {
                collected = try await request.collectBody(upTo: context.maxUploadSize)
            } catch {
                throw APIError.payloadTooLarge
            }
            guard collected.readableBytes > 0 else { throw APIError.invalidField("fcm_token", "is required, in the body or as ?fcm_token=") }
            token = try Self.token(try await request.decodeJSON(as: TokenOnly.self, context: context).fcmToken)
        }
        guard try await tokens.remove(token, userId: context.identity.userId, logger: context.logger) else { throw APIError.pushTokenNotFound }
        context.logger.info("push token removed")
        return Success()
    }

    // MARK: Test send

    /// `{fcm_token, title, body}`.
    struct TestMessage: Decodable {
        var fcmToken: JSONValue?
        var title: JSONValue?
        var body: JSONValue?
    }

    /// What a test send answers.
    struct TestSent: ResponseEncodable {
        var success = true
        /// FCM's name for the message (`projects/…/messages/…`).
        var messageId: String
    }

    /// Sends one message to a token now and says what FCM answered: 200 with its message id,
    /// 502 when FCM refused (a dead token is dropped), 503 when FCM could not take it or push is off.
    @Sendable func test(request: Request, context: AdminContext) async throws -> TestSent {
        guard let fcm else { throw APIError.pushDisabled }
        let input = try await request.decodeJSON(as: TestMessage.self, context: context)
        let token = try Self.token(input.fcmToken)
        guard let title = try Self.string(input.title, "title"), (1...PushQueue.titleLimit).contains(title.count) else {
            throw APIError.invalidField("title", "must be 1 to \(PushQueue.titleLimit) characters")
        }
        guard let body = try Self.string(input.body, "body"), body.count <= PushQueue.bodyLimit else {
            throw APIError.invalidField("body", "must be a text of at most \(PushQueue.bodyLimit) characters")
        }
        let message = FCMClient.Message(token: token, title: title, body: body, data: ["kind": "test"])
        switch await fcm.send(message, logger: context.logger) {
        case .sent(let messageId):
            metrics.sent.increment()
            context.logger.info("test push sent", metadata: ["message_id": "\(messageId)"])
            return TestSent(messageId: messageId)
        case .deadToken(let said):
            metrics.failed.increment()
            let dropped = try await database.connection(logger: context.logger) { [logger = context.logger] connection in
                try await PushTokenRepository.drop([token], on: connection, logger: logger)
            }
            metrics.dropped.increment(by: dropped)
            throw APIError.fcmTokenRejected(said)
        case .retryLater(let said, let retryAfter):
            metrics.failed.increment()
            throw APIError.fcmUnavailable(said, retryAfter: retryAfter.map { Int($0.components.seconds) } ?? 5)
        case .refused(_, let said):
            metrics.failed.increment()
            throw APIError.fcmRefused(said)
        }
    }

    // MARK: Fields

    /// The longest registration token taken.
    static let tokenLimit = 4096

    /// A registration token: 1 to 4096 printable characters (visible ASCII, as FCM's are).
    static func token(_ value: JSONValue?) throws -> String {
        guard let token = try string(value, "fcm_token") else { throw APIError.invalidField("fcm_token", "is required") }
        guard (1...tokenLimit).contains(token.utf8.count), token.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else {
            throw APIError.invalidField("fcm_token", "must be 1 to \(tokenLimit) printable characters, without spaces")
        }
        return token
    }

    /// The string in `value`; nil when absent or null, a 400 naming `field` when not a string.
    static func string(_ value: JSONValue?, _ field: String) throws -> String? {
        switch value {
        case nil, .null?: return nil
        case .string(let text)?: return text
        default: throw APIError.invalidField(field, "must be a string")
        }
    }
}
