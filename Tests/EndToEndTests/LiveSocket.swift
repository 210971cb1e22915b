import Foundation
import GuildConcurrency
import GuildCore
import GuildTestSupport
import HummingbirdWSClient
import Logging
import NIOWebSocket
import Synchronization

/// A WebSocket client held open by a test: it sends when told and keeps every frame it receives.
final class LiveSocket: Sendable {
    private let received = Received()
    private let outgoing: AsyncStream<String>.Continuation
    private let task: Task<WebSocketCloseFrame?, any Error>

    /// Connects to `url` (`ws://…/ws?token=…`) and waits for `connection_established`.
    init(url: String) async throws {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        self.outgoing = continuation
        let received = self.received
        self.task = Task {
            try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 20), logger: Logger(label: "e2e-live")) { inbound, outbound, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await text in stream { try await outbound.write(.text(text)) }
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        if case .text(let text) = message, let frame = try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) {
                            received.append(frame)
                        }
                    }
                    group.cancelAll()
                }
            }
        }
        guard await wait(for: { $0.contains { $0["type"] == .string("connection_established") } }) else {
            await close()
            throw StackClient.Failure(message: "no connection_established from \(url): \(frames)")
        }
    }

    /// The socket of `token` on notify replica `replica` (straight to its port), or through nginx when nil.
    static func open(token: String, replica: Int? = nil) async throws -> LiveSocket {
        let base: String
        if let replica {
            base = try StackAddresses.url(of: "notify", replica: replica)
        } else {
            base = try TestEnvironment.baseURL()
        }
        return try await LiveSocket(url: base.replacingOccurrences(of: "http://", with: "ws://") + "/ws?token=\(token)")
    }

    /// Every frame so far, in order.
    var frames: [JSONValue] { received.frames }

    /// The frames of `type` so far.
    func frames(_ type: String) -> [JSONValue] { frames.filter { $0["type"] == .string(type) } }

    /// When the first frame of `type` arrived, if one has.
    func arrival(of type: String) -> ContinuousClock.Instant? { received.arrival(of: type) }

    /// Sends one frame.
    func send(_ frame: String) { outgoing.yield(frame) }

    /// Waits until `condition` holds for the frames received (at most `timeout`).
    func wait(timeout: Duration = .seconds(10), for condition: @escaping @Sendable ([JSONValue]) -> Bool) async -> Bool {
        await eventually(timeout: timeout, every: .milliseconds(20)) { [received] in condition(received.frames) }
    }

    /// Waits until the server closes the connection (at most `timeout`) and returns the close
    /// code it sent; nil when it is still open then, or closed without a code.
    func closeCode(within timeout: Duration = .seconds(10)) async -> UInt16? {
        let frame = try? await withDeadline(timeout) { [task] in try await task.value }
        return frame.map { UInt16(webSocketErrorCode: $0.closeCode) }
    }

    /// Closes the connection.
    func close() async {
        outgoing.finish()
        _ = try? await withDeadline(.seconds(3)) { [task] in try await task.value }
        task.cancel()
    }
}

/// What the stack's script wrote about its servers (`var/test-*/env`).
enum StackAddresses {
    /// `http://127.0.0.1:PORT` of `service`'s replica (from 1), or its private listener.
    static func url(of service: String, replica: Int = 1, privateListener: Bool = false) throws -> String {
        try value(of: "\(service.uppercased())_\(replica)_\(privateListener ? "INTERNAL_URL" : "URL")")
    }

    /// The value of `name` in the stack's env file.
    static func value(of name: String) throws -> String {
        let file = try TestEnvironment.require("GUILDHALL_STACK_ENV")
        let key = name + "="
        for line in try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n") where line.hasPrefix(key) {
            return String(line.dropFirst(key.count))
        }
        throw StackClient.Failure(message: "\(file) names no \(name)")
    }
}

private final class Received: Sendable {
    private let storage = Mutex<[(at: ContinuousClock.Instant, frame: JSONValue)]>([])
    var frames: [JSONValue] { storage.withLock { $0.map(\.frame) } }
    func append(_ frame: JSONValue) { storage.withLock { $0.append((.now, frame)) } }
    func arrival(of type: String) -> ContinuousClock.Instant? {
        storage.withLock { $0.first { $0.frame["type"] == .string(type) }?.at }
    }
}
