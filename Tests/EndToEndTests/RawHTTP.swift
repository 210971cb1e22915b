import NIOCore
import NIOPosix
import Synchronization

/// Bytes on one TCP connection, for what an HTTP client library would not send (pipelining,
/// HTTP/1.0, malformed requests) and for seeing whether the server closed the connection.
enum RawHTTP {
    /// What came back on the connection.
    struct Exchange {
        /// Everything the server sent, as text.
        var text: String
        /// Whether the server closed the connection.
        var closed: Bool

        /// The status codes of the responses in `text`, in order.
        var statuses: [Int] {
            text.components(separatedBy: "\r\n").compactMap { line in
                guard line.hasPrefix("HTTP/1.") else { return nil }
                return Int(line.split(separator: " ").dropFirst().first ?? "")
            }
        }
    }

    /// Sends `request` to 127.0.0.1:`port` and reads until the server closes the connection,
    /// `done` says the answer is complete, or `wait` passes — a ceiling for an answer that never
    /// comes, generous because a loaded machine may take seconds to answer.
    static func exchange(
        _ request: String, port: Int, wait: Duration = .seconds(30), done: @escaping @Sendable (String) -> Bool = { _ in false }
    ) async throws -> Exchange {
        try await exchange(pieces: [request], port: port, wait: wait, done: done)
    }

    /// Like `exchange(_:port:wait:done:)`, with the request sent in `pieces`, 20 ms apart, so that
    /// the server reads it in parts.
    static func exchange(
        pieces: [String], port: Int, wait: Duration = .seconds(30), done: @escaping @Sendable (String) -> Bool = { _ in false }
    ) async throws -> Exchange {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        // At `wait`, the connection is closed from this side, which also ends the read below.
        let timer = Flag()
        let scheduled = channel.channel.eventLoop.scheduleTask(in: TimeAmount(wait)) { [channel] in
            timer.set()
            channel.channel.close(promise: nil)
        }
        defer { scheduled.cancel() }
        return try await channel.executeThenClose { inbound, outbound in
            for (index, piece) in pieces.enumerated() {
                if index > 0 { try await Task.sleep(for: .milliseconds(20)) }
                try await outbound.write(ByteBuffer(string: piece))
            }
            var text = ""
            do {
                for try await chunk in inbound {
                    text += String(buffer: chunk)
                    if done(text) { return Exchange(text: text, closed: false) }
                }
            } catch where timer.isSet {
                // Closed by the timer: not the server's doing.
            }
            return Exchange(text: text, closed: !timer.isSet)
        }
    }

    /// Set once, read from any thread.
    private final class Flag: Sendable {
        private let value = Atomic(false)
        func set() { value.store(true, ordering: .sequentiallyConsistent) }
        var isSet: Bool { value.load(ordering: .sequentiallyConsistent) }
    }
}
