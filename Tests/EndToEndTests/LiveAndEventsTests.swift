import Foundation
import GuildConcurrency
import GuildCore
import GuildServiceKit
import GuildTestSupport
import HummingbirdWSClient
import Logging
import NIOHTTP1
import Testing

@Suite("Through nginx: events across services and WebSockets", .watched)
struct LiveAndEventsTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    /// auth writes `auth.user_created` in the transaction that creates the first admin; the
    /// relay publishes it; notify (another process) consumes it and fills the inbox.
    @Test func theFirstAdminsWelcomeTravelsFromAuthToNotify() async throws {
        let token = try await stack.adminToken()
        var inbox = JSONValue.null
        let arrived = try await eventually(timeout: .seconds(60)) {
            let reply = try await stack.send(.GET, "/api/notifications", token: token)
            guard reply.status == 200 else { return false }
            inbox = try reply.json()
            guard case .array(let items)? = inbox["items"] else { return false }
            return items.contains { $0["kind"] == .string("welcome") }
        }
        #expect(arrived, "no welcome notification: \(inbox)")
        guard case .array(let items)? = inbox["items"] else { return }
        #expect(items.filter { $0["kind"] == .string("welcome") }.count == 1, "the welcome was delivered more than once")
        #expect(inbox["unread_count"] != nil)
        #expect(inbox["next_cursor"] != nil, "next_cursor must be present (null on the last page)")
    }

    /// A page that ends with the last notification says so, even when it is full.
    @Test func anInboxPageHoldingTheLastNotificationHasNoNextCursor() async throws {
        let user = try await stack.makeUser(role: "user", admin: try await stack.adminToken())
        var page = JSONValue.null
        let arrived = try await eventually(timeout: .seconds(60)) {
            page = try await stack.send(.GET, "/api/notifications?limit=200", token: user.token).json()
            return page["items"]?.array?.contains { $0["kind"] == .string("welcome") } == true
        }
        #expect(arrived, "no welcome for a new user: \(page)")
        // The welcome, and the broadcasts of the last 30 days other tests may have sent.
        let count = page["items"]?.array?.count ?? 0
        page = try await stack.send(.GET, "/api/notifications?limit=\(count)", token: user.token).json()
        #expect(page["items"]?.array?.count == count)
        #expect(page["next_cursor"] == .null, "a page holding the last notification, full as it is: nothing follows")
        #expect(page["unread_count"]?.int == count)
    }

    @Test func aWebSocketAuthenticatesWithTheTokenInTheQuery() async throws {
        let token = try await stack.adminToken()
        // Twice: every upgrade must get a fresh upstream connection.
        for _ in 0..<2 {
            let frames = try await exchange(path: "/ws?token=\(token)", send: [#"{"type":"ping"}"#], expect: 2)
            #expect(frames.first?["type"] == .string("connection_established"))
            #expect(frames.first?["role"] == .string("admin"))
            #expect(frames.first?["user_id"]?.stringValue?.count == 36)
            #expect(frames.last?["type"] == .string("pong"))
        }
    }

    @Test func aWebSocketAuthenticatesWithAFirstFrame() async throws {
        let token = try await stack.adminToken()
        let frames = try await exchange(path: "/ws", send: [#"{"type":"auth","token":"\#(token)"}"#, #"{"type":"ping"}"#, "not json"], expect: 3)
        #expect(frames.map { $0["type"] } == [.string("connection_established"), .string("pong"), .string("error")])
        #expect(frames.last?["code"] == .string("bad_request"))
    }

    @Test func aFrameLargerThan16KiBKeepsTheConnection() async throws {
        let token = try await stack.adminToken()
        let padding = String(repeating: "x", count: 40 * 1024)
        let frames = try await exchange(path: "/ws?token=\(token)", send: [#"{"type":"ping","padding":"\#(padding)"}"#, #"{"type":"ping"}"#], expect: 3)
        #expect(frames.map { $0["type"] } == [.string("connection_established"), .string("pong"), .string("pong")])
    }

    @Test func aWebSocketWithABadFirstFrameTokenIsRefused() async throws {
        // Answered with an error frame and a 1008 close, never with a live session.
        #expect(try await isRefused(path: "/ws", send: [#"{"type":"auth","token":"nope"}"#]), "a bad token in the first frame was never refused")
    }

    @Test func aBadTokenInTheQueryIsA401BeforeTheUpgrade() async throws {
        let port = try #require(URLComponents(string: stack.baseURL)?.port)
        let forged = try await stack.adminToken().dropLast(3) + "AAA"
        for token in ["nope", String(forged)] {
            let upgrade = "GET /ws?token=\(token) HTTP/1.1\r\nHost: guildhall\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            let reply = try await RawHTTP.exchange(upgrade, port: port, done: { $0.contains("}}") })
            #expect(reply.statuses == [401], "\(reply.text)")
            #expect(reply.text.contains(#""code":"unauthorized""#), "\(reply.text)")
        }
    }

    /// Whether the server refuses the session: an `unauthorized` error frame or a 1008 close.
    ///
    /// The server closes right after its refusal, and the test client sometimes misses frames
    /// that arrive with the 101 or sees the connection reset first; such an attempt proves
    /// nothing either way and is tried again (three attempts). Any attempt that receives
    /// anything but the refusal fails the test.
    private func isRefused(path: String, send: [String]) async throws -> Bool {
        for _ in 0..<3 {
            guard let (frames, close) = try? await session(path: path, send: send, expect: 1, timeout: .seconds(8)) else { continue }
            #expect(frames.allSatisfy { $0["type"] == .string("error") && $0["code"] == .string("unauthorized") }, "\(path): \(frames)")
            if frames.first?["code"] == .string("unauthorized") || close?.closeCode == .policyViolation { return true }
        }
        return false
    }

    /// Connects through nginx, sends `send` after the first server frame, collects `expect` frames.
    private func exchange(path: String, send: [String], expect count: Int) async throws -> [JSONValue] {
        let (frames, _) = try await session(path: path, send: send, expect: count, timeout: .seconds(15))
        #expect(frames.count == count, "got \(frames)")
        return frames
    }

    /// One WebSocket session through nginx: the frames received (up to `count`) and the close frame.
    private func session(path: String, send: [String], expect count: Int, timeout: Duration) async throws -> ([JSONValue], WebSocketCloseFrame?) {
        let url = stack.baseURL.replacingOccurrences(of: "http://", with: "ws://") + path
        let collected = Collected()
        let logger = Logger(label: "e2e-ws")
        // A frame that never comes fails the test after `timeout` instead of hanging the run;
        // withDeadline answers on time even if the client does not end when it is cancelled.
        let close: WebSocketCloseFrame?
        do {
            close = try await withDeadline(timeout) {
                try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 20), logger: logger) { inbound, outbound, _ in
                    var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                    var sent = false
                    if path.hasPrefix("/ws?") == false {
                        for frame in send { try await outbound.write(.text(frame)) }
                        sent = true
                    }
                    while collected.count < count, let message = try await messages.next() {
                        guard case .text(let text) = message else { continue }
                        collected.append(try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)))
                        if !sent {
                            for frame in send { try await outbound.write(.text(frame)) }
                            sent = true
                        }
                    }
                    try await outbound.close(.normalClosure, reason: nil)
                }
            }
        } catch is DeadlineExceeded {
            throw StackClient.Failure(message: "WebSocket session timed out; got \(collected.frames)")
        }
        return (collected.frames, close)
    }
}

private final class Collected: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [JSONValue] = []
    var frames: [JSONValue] { lock.withLock { storage } }
    var count: Int { lock.withLock { storage.count } }
    func append(_ frame: JSONValue) { lock.withLock { storage.append(frame) } }
}
