import Foundation
import GuildConcurrency
import GuildCore
import GuildRedis
import GuildTestSupport
import HummingbirdWSClient
import Logging
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The live channel's limits: a client that stops reading cannot make notify hold more and more
/// for it, and an oversized frame is answered with a close code, not a crash.
@Suite("Live connections: slow readers and oversized frames", .watched)
struct LiveLimitsTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    /// Publishes `frames` to `userId`'s live connections on the stack's Redis, as notify's
    /// `LiveConnections.publish` does.
    func publish(_ frames: [String], to userId: String) async throws {
        let configuration = try RedisConfiguration(url: try TestEnvironment.require("GUILDHALL_STACK_REDIS_URL"))
        let redis = RedisClient(configuration: configuration, logger: e2eLogger)
        do {
            for frame in frames {
                let envelope = JSONValue.object(["user_id": .string(userId), "frame": .string(frame)]).jsonText()
                _ = try await redis.publish(envelope, to: "guildhall:notify:live")
            }
        } catch {
            try? await redis.shutdown()
            throw error
        }
        try await redis.shutdown()
    }

    /// Runs `body` with a client of the stack's Redis.
    func withStackRedis<T>(_ body: (RedisClient) async throws -> T) async throws -> T {
        let redis = RedisClient(configuration: try RedisConfiguration(url: try TestEnvironment.require("GUILDHALL_STACK_REDIS_URL")), threads: 1, logger: e2eLogger)
        do {
            let result = try await body(redis)
            try await redis.shutdown()
            return result
        } catch {
            try? await redis.shutdown()
            throw error
        }
    }

    /// Whether a connection of `userId` is in `ticket`'s room on some replica now, as notify keeps
    /// it in Redis for the inbox (until the connection leaves the room or ends).
    func inRoom(_ userId: String, _ ticket: String, redis: RedisClient) async throws -> Bool {
        let now = String(Int64(Date().timeIntervalSince1970 * 1000))
        let present = try await redis.send(["ZRANGEBYSCORE", "guildhall:notify:room:\(ticket)", now, "+inf"])
        return present.elements.contains { $0.string?.hasPrefix("\(userId)|") == true }
    }

    @Test func aWebSocketClientThatStopsReadingIsClosedInsteadOfBufferedWithoutBound() async throws {
        let user = try await stack.makeUser(role: "user", admin: try await stack.adminToken())
        let port = try #require(URLComponents(string: try StackAddresses.url(of: "notify", replica: 1))?.port)
        let opened = try await stack.send(.POST, "/api/tickets", token: user.token, json: ["subject": "Slow line", "category": "technical", "message": "It lags."])
        let ticket = try #require(try opened.json()["ticket_id"]?.stringValue, "\(opened.status) \(opened.text)")

        // A client with a tiny receive buffer that reads the handshake and its first frame, then nothing.
        let reader = try await SlowReader.connect(port: port)
        defer { reader.close() }
        try await reader.send(
            "GET /ws?token=\(user.token) HTTP/1.1\r\nHost: notify\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        let greeting = try await reader.read(until: "connection_established")
        #expect(greeting.starts(with: Array("HTTP/1.1 101".utf8)), "\(String(decoding: greeting.prefix(200), as: UTF8.self))")

        try await withStackRedis { redis in
            // In the room of the user's ticket: notify marks the connection present there until the
            // connection ends, so the test sees when the server gave it up without reading a byte.
            try await reader.send(WebSocketFrames.clientText(#"{"type":"join_ticket","ticket_id":"\#(ticket)"}"#))
            let joined = try await eventually(timeout: .seconds(10), every: .milliseconds(50)) { try await inRoom(user.id, ticket, redis: redis) }
            try #require(joined, "the connection did not join the room")

            // 20 MB for it: far more than the socket buffers and the outbox's bound (1024 frames, 4 MiB) hold.
            let padding = String(repeating: "x", count: 4000)
            let count = 5000
            try await publish((0..<count).map { #"{"type":"notification","id":"\#($0)","title":"flood","body":"\#(padding)"}"# }, to: user.id)

            // Still reading nothing, until the server has ended the connection (it left the room).
            let given = try await eventually(timeout: .seconds(30), every: .milliseconds(50)) { try await inRoom(user.id, ticket, redis: redis) == false }
            #expect(given, "the server kept the connection of a client that reads nothing")

            // Then read: what was in flight, and the end.
            let (rest, ended) = try await reader.drain(timeout: .seconds(20))
            let frames = WebSocketFrames.parse(greeting + rest)
            #expect(ended, "the connection did not end")
            let delivered = frames.texts.filter { $0.contains(#""title":"flood""#) }.count
            #expect(delivered < count, "every frame was kept for a client that read nothing (\(delivered))")
            // No close frame, by design: the full outbox closed (overflow), and notify's pump tried
            // the close frame 1013 for its grace of two seconds — but a client that reads nothing
            // cannot take it (it waits behind the frames already in the full socket buffers), so the
            // pump cut the TCP connection. Reading only now, the client gets what those buffers
            // held, then the end of the stream, and never the 1013.
            #expect(frames.closeCode == nil, "a close frame (\(frames.closeCode ?? 0)) reached a client that read nothing")
        }

        // The user's next connection works, and so does the replica.
        let socket = try await LiveSocket.open(token: user.token, replica: 1)
        socket.send(#"{"type":"ping"}"#)
        #expect(await socket.wait { $0.contains { $0["type"] == .string("pong") } }, "\(socket.frames)")
        await socket.close()
    }

    @Test func anOversizedFrameOnWsIsClosedWith1009() async throws {
        let token = try await stack.adminToken()
        let padding = String(repeating: "x", count: 70 * 1024)
        let close = try await closeFrame(path: "/ws?token=\(token)", sending: #"{"type":"ping","padding":"\#(padding)"}"#)
        #expect(close?.closeCode == .messageTooLarge, "\(String(describing: close))")
    }

    @Test func aFrameOverSocketIOsMaxPayloadIsClosedWith1009() async throws {
        let close = try await closeFrame(path: "/socket.io/?EIO=4&transport=websocket", sending: "4" + String(repeating: "x", count: 1_000_001))
        #expect(close?.closeCode == .messageTooLarge, "\(String(describing: close))")
        // The replicas are still there.
        #expect(try await stack.send(.GET, "/api/notify/health").status == 200)
    }

    /// Connects through nginx, sends `text` after the first server frame, and returns how the server closed.
    private func closeFrame(path: String, sending text: String) async throws -> WebSocketCloseFrame? {
        let url = stack.baseURL.replacingOccurrences(of: "http://", with: "ws://") + path
        return try await withDeadline(.seconds(15)) {
            let logger = Logger(label: "e2e-limits")
            return try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 21), logger: logger) { inbound, outbound, _ in
                var messages = inbound.messages(maxSize: 1 << 20).makeAsyncIterator()
                _ = try await messages.next()
                try await outbound.write(.text(text))
                while try await messages.next() != nil {}
            }
        }
    }
}

/// A TCP client that reads only when told to, with a small receive buffer (blocking socket
/// calls, made on Dispatch's threads rather than the test's).
private final class SlowReader: Sendable {
    private let socket: Int32

    private init(socket: Int32) { self.socket = socket }

    static func connect(port: Int) async throws -> SlowReader {
        try await blocking {
            let fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw Failure(message: "socket: \(errno)") }
            var size: Int32 = 4096
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                Glibc.close(fd)
                throw Failure(message: "connect: \(errno)")
            }
            return SlowReader(socket: fd)
        }
    }

    func send(_ text: String) async throws {
        try await send(Array(text.utf8))
    }

    func send(_ data: [UInt8]) async throws {
        let socket = socket
        try await Self.blocking {
            var bytes = data[...]
            while !bytes.isEmpty {
                let sent = bytes.withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                guard sent > 0 else { throw Failure(message: "send: \(errno)") }
                bytes = bytes.dropFirst(sent)
            }
        }
    }

    /// Reads until what arrived contains `marker` (ten seconds at most).
    func read(until marker: String) async throws -> [UInt8] {
        let socket = socket
        return try await Self.blocking {
            Self.setTimeout(socket, seconds: 10)
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while !String(decoding: received, as: UTF8.self).contains(marker) {
                let count = recv(socket, &buffer, buffer.count, 0)
                guard count > 0 else { throw Failure(message: "read ended (\(count), errno \(errno)) before \(marker): \(received.count) bytes") }
                received += buffer[..<count]
            }
            return received
        }
    }

    /// Reads everything until the server ends the connection; whether it did within `timeout`.
    func drain(timeout: Duration) async throws -> ([UInt8], ended: Bool) {
        let socket = socket
        return try await Self.blocking {
            Self.setTimeout(socket, seconds: 1)
            let deadline = ContinuousClock.now + timeout
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while ContinuousClock.now < deadline {
                let count = recv(socket, &buffer, buffer.count, 0)
                if count > 0 {
                    received += buffer[..<count]
                } else if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                    return (received, true)
                }
            }
            return (received, false)
        }
    }

    func close() { Glibc.close(socket) }

    private static func setTimeout(_ socket: Int32, seconds: Int) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    private static func blocking<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}

/// The frames in what a server sent after its `101` (unmasked, as a server sends them).
private struct WebSocketFrames {
    var texts: [String] = []
    var closeCode: Int?

    /// A text frame as a client sends it: masked (RFC 6455 §5.3), in one frame of less than 64 KiB.
    static func clientText(_ text: String) -> [UInt8] {
        let payload = Array(text.utf8)
        precondition(payload.count < 1 << 16, "one short frame")
        let mask: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
        var frame: [UInt8] = [0x81]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else {
            frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        }
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        return frame
    }

    static func parse(_ bytes: [UInt8]) -> WebSocketFrames {
        var frames = WebSocketFrames()
        guard let headerEnd = bytes.indices.first(where: { bytes[$0...].starts(with: Array("\r\n\r\n".utf8)) }) else { return frames }
        var index = headerEnd + 4
        var message: [UInt8] = []
        while index + 2 <= bytes.count {
            let opcode = bytes[index] & 0x0F
            var length = Int(bytes[index + 1] & 0x7F)
            var start = index + 2
            if length == 126 {
                guard start + 2 <= bytes.count else { break }
                length = Int(bytes[start]) << 8 | Int(bytes[start + 1])
                start += 2
            } else if length == 127 {
                guard start + 8 <= bytes.count else { break }
                length = bytes[start..<start + 8].reduce(0) { $0 << 8 | Int($1) }
                start += 8
            }
            guard start + length <= bytes.count else { break }
            let payload = bytes[start..<start + length]
            switch opcode {
            case 0x1, 0x0:
                message += payload
                if bytes[index] & 0x80 != 0 {
                    frames.texts.append(String(decoding: message, as: UTF8.self))
                    message = []
                }
            case 0x8 where length >= 2:
                frames.closeCode = Int(payload[payload.startIndex]) << 8 | Int(payload[payload.startIndex + 1])
            default:
                break
            }
            index = start + length
        }
        return frames
    }
}
