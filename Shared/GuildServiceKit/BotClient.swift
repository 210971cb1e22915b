import AsyncHTTPClient
import Foundation
import GuildCore
import Metrics
import NIOCore

/// Calls the community's Discord bot on its private listener (`BOT_INTERNAL_URL`) with the
/// shared secret: each call has a timeout, and a failure says whether the bot could not be
/// reached or refused. Retrying is the caller's: what must reach the bot waits in a queue of
/// the caller's own and is sent again with backoff (see leveling's role updates). Each call is
/// counted in `/metrics`: `bot_calls_total` and `bot_call_failures_total`, by path.
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

    /// The wait before trying a call again after its `attempts`-th failure: 1 s, 2 s, 4 s … up
    /// to `cap`, each time between half of it and all of it (jitter), so callers that failed
    /// together do not all come back at once.
    public static func retryDelay(afterFailure attempts: Int, cap: Duration) -> Duration {
        let full = min(Duration.seconds(1 << min(max(attempts - 1, 0), 20)), cap)
        return full * Double.random(in: 0.5...1.0)
    }

    /// `GET /internal/health`: true when the bot answers 2xx within `timeout` (the client's own by default).
    public func isHealthy(timeout: Duration? = nil) async -> Bool {
        var request = HTTPClientRequest(url: baseURL + "/internal/health")
        request.headers.add(name: "Authorization", value: "Bearer \(secret)")
        guard let response = try? await InternalClient.client.execute(request, timeout: TimeAmount(timeout ?? self.timeout)) else { return false }
        _ = try? await response.body.collect(upTo: 1 << 16)
        return (200..<300).contains(Int(response.status.code))
    }

    private func post(_ path: String, body: [UInt8], idempotencyKey: String) async throws -> JSONValue {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(secret)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Idempotency-Key", value: idempotencyKey)
        request.body = .bytes(ByteBuffer(bytes: body))
        Counter(label: "bot_calls_total", dimensions: [("path", path)]).increment()
        let failures = Counter(label: "bot_call_failures_total", dimensions: [("path", path)])
        let status: Int
        let text: String
        do {
            // A bot that refuses the connection fails the call at once (the callers retry with
            // backoff of their own), rather than after the timeout, with a connection of the
            // service's database held meanwhile (role updates, DMs), or its stop waiting on it.
            let response = try await InternalClient.client.execute(request, timeout: TimeAmount(timeout))
            status = Int(response.status.code)
            text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        } catch {
            failures.increment()
            throw Failure.unreachable("\(error)")
        }
        guard (200..<300).contains(status), let reply = try? JSONValue(parsing: text), reply["success"] == .bool(true) else {
            failures.increment()
            throw Failure.refused(status: status, body: text)
        }
        return reply
    }
}
