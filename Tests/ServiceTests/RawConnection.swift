import NIOCore
import NIOPosix
import Synchronization

/// One TCP connection held open by a test: what it sends, and everything that came back.
final class RawConnection: Sendable {
    private let channel: any Channel
    private let collector: Collector

    /// Connects to 127.0.0.1:`port`.
    init(port: Int) async throws {
        let collector = Collector()
        self.collector = collector
        self.channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: port)
            .get()
    }

    /// Writes `text`.
    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text))
    }

    /// What arrived once it contains `marker`; throws after five seconds without it.
    func read(until marker: String) async throws -> String {
        let deadline = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            let text = collector.text
            if text.contains(marker) { return text }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ReadTimeout(received: collector.text)
    }

    /// Closes the connection (if the server has not).
    func close() async {
        try? await channel.close()
    }

    struct ReadTimeout: Error, CustomStringConvertible {
        let received: String
        var description: String { "nothing complete arrived within 5 s; got: \(received)" }
    }

    private final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        private let received = Mutex("")

        var text: String { received.withLock { $0 } }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            received.withLock { $0 += String(buffer: buffer) }
        }
    }
}
