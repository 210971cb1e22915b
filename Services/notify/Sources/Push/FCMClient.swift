import AsyncHTTPClient
import Foundation
import GuildClients
import Logging
import NIOCore

/// Sends one message to one device through FCM HTTP v1 (`POST /v1/projects/{project}/messages:send`).
///
/// Every call has a timeout. A 401 renews the access token and tries once more; what FCM says
/// about the token and the message comes back as an ``Outcome`` the caller acts on.
struct FCMClient: Sendable {
    let configuration: FCMConfiguration
    let tokens: FCMAccessTokens
    let timeout: Duration

    /// Creates a client; access tokens are fetched when the first send needs one.
    init(configuration: FCMConfiguration, timeout: Duration = .seconds(10)) async {
        self.configuration = configuration
        self.tokens = await FCMAccessTokens(configuration: configuration, timeout: timeout)
        self.timeout = timeout
    }

    /// One notification for one device.
    struct Message: Sendable, Equatable {
        /// The device's registration token.
        var token: String
        var title: String
        var body: String
        /// String values delivered to the app beside the notification (`kind` among them).
        var data: [String: String]
    }

    /// What became of a message.
    enum Outcome: Sendable, Equatable {
        /// FCM took it; `messageId` is its `name` (`projects/…/messages/…`).
        case sent(messageId: String)
        /// FCM says the token is no longer valid (`UNREGISTERED`, or an `INVALID_ARGUMENT` about the
        /// token): it is to be dropped. `said` is FCM's answer.
        case deadToken(said: String)
        /// FCM or Google's token endpoint could not take it now (429, 5xx, no answer, a token
        /// refused twice): try again later, not before `retryAfter` when FCM named it.
        case retryLater(said: String, retryAfter: Duration?)
        /// FCM refused the message for good (a malformed message, a missing permission …).
        case refused(status: Int, said: String)
    }

    /// Sends `message`; never throws, what went wrong is in the outcome.
    func send(_ message: Message, logger: Logger) async -> Outcome {
        for attempt in 1...2 {
            let accessToken: String
            do {
                accessToken = try await tokens.token()
            } catch let failure as FCMFailure {
                if case .unauthorized = failure { logger.error("FCM access token refused", metadata: ["error": "\(failure)"]) }
                return .retryLater(said: failure.description, retryAfter: nil)
            } catch {
                return .retryLater(said: "no access token: \(error)", retryAfter: nil)
            }
            let answer: (status: Int, retryAfter: String?, text: String)
            do {
                answer = try await post(message, accessToken: accessToken)
            } catch {
                return .retryLater(said: "FCM could not be reached: \(error)", retryAfter: nil)
            }
            if answer.status == 401 && attempt == 1 {
                // Revoked or expired early: one new token, one more try.
                await tokens.invalidate(accessToken)
                continue
            }
            return Self.outcome(status: answer.status, retryAfter: answer.retryAfter, body: answer.text)
        }
        return .retryLater(said: "FCM refused two access tokens in a row (401)", retryAfter: nil)
    }

    private func post(_ message: Message, accessToken: String) async throws -> (status: Int, retryAfter: String?, text: String) {
        var request = HTTPClientRequest(url: configuration.sendURL)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(accessToken)")
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.body = .bytes(ByteBuffer(bytes: try Self.body(of: message)))
        let answer = try await OutboundCall(target: "fcm", timeout: timeout).send(request)
        return (answer.status, answer.headers.first(name: "Retry-After"), answer.text)
    }

    // MARK: The v1 wire format

    /// `{"message": {"token", "notification": {"title", "body"}, "data": {...}}}`.
    static func body(of message: Message) throws -> Data {
        struct Envelope: Encodable {
            struct Notification: Encodable {
                var title: String
                var body: String
            }
            struct Payload: Encodable {
                var token: String
                var notification: Notification
                var data: [String: String]
            }
            var message: Payload
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let payload = Envelope.Payload(token: message.token, notification: .init(title: message.title, body: message.body), data: message.data)
        return try encoder.encode(Envelope(message: payload))
    }

    /// FCM's error body: `{"error": {"code", "message", "status", "details": [{"errorCode"}, {"fieldViolations": [{"field"}]}]}}`.
    private struct ErrorBody: Decodable {
        struct Detail: Decodable {
            struct Violation: Decodable {
                var field: String?
            }
            var errorCode: String?
            var fieldViolations: [Violation]?
        }
        struct Failure: Decodable {
            var message: String?
            var status: String?
            var details: [Detail]?
        }
        var error: Failure
    }

    /// What FCM's answer means for the message and its token.
    static func outcome(status: Int, retryAfter: String?, body: String) -> Outcome {
        if (200..<300).contains(status) {
            let name = (try? JSONDecoder().decode([String: String].self, from: Data(body.utf8)))?["name"]
            return .sent(messageId: name ?? "")
        }
        let failure = (try? JSONDecoder().decode(ErrorBody.self, from: Data(body.utf8)))?.error
        let codes = Set((failure?.details ?? []).compactMap(\.errorCode) + [failure?.status].compactMap { $0 })
        let fields = (failure?.details ?? []).flatMap { $0.fieldViolations ?? [] }.compactMap(\.field)
        let message = failure?.message ?? String(body.prefix(300))
        let said = "\(status) \(codes.contains("UNREGISTERED") ? "UNREGISTERED" : failure?.status ?? "error"): \(message)"
        if codes.contains("UNREGISTERED") || codes.contains("SENDER_ID_MISMATCH") {
            return .deadToken(said: said)
        }
        if status == 400, codes.contains("INVALID_ARGUMENT"),
            fields.contains("message.token") || message.localizedCaseInsensitiveContains("registration token")
        {
            return .deadToken(said: said)
        }
        if status == 429 || status >= 500 || status == 401 {
            let wait = retryAfter.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }.map { Duration.seconds(max(0, min($0, 3600))) }
            return .retryLater(said: said, retryAfter: wait)
        }
        return .refused(status: status, said: said)
    }
}
