import AsyncHTTPClient
import Foundation
import GuildCore
import NIOCore

/// Calls the community's Discord bot on its private listener (`BOT_INTERNAL_URL`) with the
/// shared secret: each call has a timeout, and a failure says whether the bot could not be
/// reached or refused. Retrying is the caller's: what must reach the bot waits in a queue of
/// the caller's own and is sent again with backoff (see leveling's role updates). Each call is
/// counted in `/metrics` as every outbound call is (`outbound_calls_total{target="bot"}`).
public struct BotClient: Sendable {
    /// The bot's private listener, such as `http://127.0.0.1:8090`.
    public let baseURL: String
    let secret: String
    let timeout: Duration

    /// Why a call did not succeed.
    public enum Failure: Error, CustomStringConvertible {
        /// No answer: refused, reset or timed out.
        case unreachable(String)
        /// An answer other than a 2xx with `"success": true`.
        case refused(status: Int, body: String)

        public var description: String {
            switch self {
            case .unreachable(let reason): "the bot could not be reached: \(reason)"
            case .refused(let status, let body): "the bot answered \(status): \(body.prefix(200))"
            }
        }
    }

    /// Creates a client of the bot at `baseURL`.
    public init(baseURL: String, secret: String, timeout: Duration = .seconds(5)) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.secret = secret
        self.timeout = timeout
    }

    /// `POST /internal/roles/update`: roles to add to and remove from a member.
    public struct RolesUpdate: Encodable, Sendable, Equatable {
        public var discordId: String
        public var plan: String?
        public var addRoles: [String]
        public var removeRoles: [String]

        /// Creates an update.
        public init(discordId: String, plan: String? = nil, addRoles: [String], removeRoles: [String]) {
            self.discordId = discordId
            self.plan = plan
            self.addRoles = addRoles
            self.removeRoles = removeRoles
        }
    }

    /// Asks the bot to change a member's roles; `idempotencyKey` lets the bot recognise a repeat.
    @discardableResult
    public func updateRoles(_ update: RolesUpdate, idempotencyKey: String) async throws -> JSONValue {
        try await post("/internal/roles/update", body: try GuildJSON.encode(update), idempotencyKey: idempotencyKey)
    }

    /// `POST /internal/notify`: the bot tells a member (a DM).
    public struct Notice: Encodable, Sendable {
        public var discordId: String
        public var action: String
        public var plan: String?
        public var metadata: JSONValue

        /// Creates a notice.
        public init(discordId: String, action: String, plan: String? = nil, metadata: JSONValue = .object([:])) {
            self.discordId = discordId
            self.action = action
            self.plan = plan
            self.metadata = metadata
        }
    }

    /// Asks the bot to tell a member something.
    @discardableResult
    public func notify(_ notice: Notice, idempotencyKey: String) async throws -> JSONValue {
        try await post("/internal/notify", body: try GuildJSON.encode(notice), idempotencyKey: idempotencyKey)
    }

    /// `GET /internal/health`: true when the bot answers 2xx within `timeout` (the client's own by default).
    public func isHealthy(timeout: Duration? = nil) async -> Bool {
        var request = HTTPClientRequest(url: baseURL + "/internal/health")
        request.headers.add(name: "Authorization", value: "Bearer \(secret)")
        let call = OutboundCall(target: "bot", timeout: timeout ?? self.timeout, bodyLimit: 1 << 16, client: InternalClient.client)
        return (try? await call.send(request))?.isSuccess ?? false
    }

    private func post(_ path: String, body: [UInt8], idempotencyKey: String) async throws -> JSONValue {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(secret)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Idempotency-Key", value: idempotencyKey)
        request.body = .bytes(ByteBuffer(bytes: body))
        let answer: OutboundCall.Answer
        do {
            // A bot that refuses the connection fails the call at once (the callers retry with
            // backoff of their own), rather than after the timeout, with a connection of the
            // service's database held meanwhile (role updates, DMs), or its stop waiting on it.
            answer = try await OutboundCall(target: "bot", timeout: timeout, client: InternalClient.client).send(request)
        } catch {
            throw Failure.unreachable("\(error)")
        }
        guard answer.isSuccess, let reply = try? JSONValue(parsing: answer.text), reply["success"] == .bool(true) else {
            throw Failure.refused(status: answer.status, body: answer.text)
        }
        return reply
    }
}
