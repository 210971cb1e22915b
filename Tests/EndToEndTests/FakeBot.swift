import Foundation
import GuildCore
import GuildTestSupport
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// The community's Discord bot as the tests play it: `POST /internal/roles/update` behind the
/// shared secret, and `POST /internal/notify`, on the port the test script gave the services
/// (`BOT_INTERNAL_URL`). It is not listening until a test starts it; then a test takes it down
/// for its own members (``downFor``), or for everyone for a moment (``down``).
final class FakeBot: Sendable {
    struct RoleUpdate: Sendable, Equatable {
        var discordId: String
        var addRoles: [String]
        var removeRoles: [String]
        var idempotencyKey: String
    }

    /// A message the bot was asked to send a member (`POST /internal/notify`).
    struct Message: Sendable, Equatable {
        var discordId: String
        var action: String
        var title: String
        var idempotencyKey: String
    }

    let updates = Mutex<[RoleUpdate]>([])
    let messages = Mutex<[Message]>([])
    let refusedSecrets = Mutex(0)
    /// While set, the bot answers 503 to everything, its health included (it is up but not working).
    let down = Mutex(false)
    /// The members for whom the bot answers 503 (a test's own outage, whatever other tests do).
    let downFor = Mutex<Set<String>>([])
    /// The calls the bot answered 503 for a member, by path (`/internal/notify` …) and Discord id.
    let refusedCalls = Mutex<[(path: String, discordId: String)]>([])

    private func refuses(_ discordId: String) -> Bool {
        down.withLock { $0 } || downFor.withLock { $0.contains(discordId) }
    }

    static let shared = FakeBot()
    private static let server = FakeServer(name: "fake bot")

    private init() {}

    /// The body of a call the bot takes, or the answer that refuses it: 401 without the shared
    /// secret, 503 while the bot is down for the member.
    private enum Call {
        case taken(JSONValue)
        case refused(Response)
    }

    private func accepted(_ request: Request) async throws -> Call {
        let secret = try TestEnvironment.require("GUILDHALL_INTERNAL_SECRET")
        guard request.headers[.authorization] == "Bearer \(secret)" else {
            refusedSecrets.withLock { $0 += 1 }
            return .refused(Response(status: .unauthorized))
        }
        let body = try JSONValue(parsing: String(buffer: try await request.body.collect(upTo: 1 << 20)))
        let discordId = body["discord_id"]?.stringValue ?? ""
        if refuses(discordId) {
            let path = request.uri.path
            refusedCalls.withLock { $0.append((path, discordId)) }
            return .refused(Response(status: .serviceUnavailable))
        }
        return .taken(body)
    }

    /// How many calls to `path` for `discordId` the bot refused (it was down for them).
    func refusals(of path: String, for discordId: String) -> Int {
        refusedCalls.withLock { $0.filter { $0.path == path && $0.discordId == discordId }.count }
    }

    func notify(request: Request, context: BasicRequestContext) async throws -> Response {
        let body: JSONValue
        switch try await accepted(request) {
        case .taken(let taken): body = taken
        case .refused(let refusal): return refusal
        }
        let message = Message(
            discordId: body["discord_id"]?.stringValue ?? "", action: body["action"]?.stringValue ?? "",
            title: body["metadata"]?["title"]?.stringValue ?? "", idempotencyKey: request.headers[HTTPField.Name("Idempotency-Key")!] ?? ""
        )
        messages.withLock { $0.append(message) }
        let answer = #"{"success":true,"message":"sent","notification_sent":true}"#
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: answer)))
    }

    /// The messages the bot was asked to send `discordId`, in order.
    func messages(for discordId: String) -> [Message] {
        messages.withLock { $0.filter { $0.discordId == discordId } }
    }

    func rolesUpdate(request: Request, context: BasicRequestContext) async throws -> Response {
        let body: JSONValue
        switch try await accepted(request) {
        case .taken(let taken): body = taken
        case .refused(let refusal): return refusal
        }
        let update = RoleUpdate(
            discordId: body["discord_id"]?.stringValue ?? "",
            addRoles: body["add_roles"]?.array?.compactMap(\.stringValue) ?? [],
            removeRoles: body["remove_roles"]?.array?.compactMap(\.stringValue) ?? [],
            idempotencyKey: request.headers[HTTPField.Name("Idempotency-Key")!] ?? ""
        )
        updates.withLock { $0.append(update) }
        let answer = #"{"success":true,"message":"roles updated","roles_updated":true,"guild_id":"100000000000000001"}"#
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: answer)))
    }

    /// The updates the bot received for `discordId`, in order.
    func updates(for discordId: String) -> [RoleUpdate] {
        updates.withLock { $0.filter { $0.discordId == discordId } }
    }

    /// Starts the bot (once per run); from then on it answers.
    func start() async throws {
        let port = Int(try TestEnvironment.require("GUILDHALL_FAKE_BOT_PORT")) ?? 0
        try await Self.server.start(port: port) { router in
            router.post("/internal/roles/update") { request, context in try await self.rolesUpdate(request: request, context: context) }
            router.post("/internal/notify") { request, context in try await self.notify(request: request, context: context) }
            router.get("/internal/health") { _, _ in
                if self.down.withLock({ $0 }) { return Response(status: .serviceUnavailable) }
                return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok","service":"bot","version":"test"}"#)))
            }
        }
    }
}
