import GuildConcurrency
import Logging
import NIOPosix
import ServiceLifecycle

/// A message received on a subscribed channel.
public struct RedisMessage: Sendable, Equatable {
    /// The channel it was published on.
    public var channel: String
    /// The message text.
    public var payload: String

    /// Creates a message.
    public init(channel: String, payload: String) {
        self.channel = channel
        self.payload = payload
    }
}

/// Subscribes to channels on a connection and thread of its own, and hands each message to a handler.
///
/// When Redis goes away it reconnects with backoff (100 ms doubling to 5 s) and calls
/// `onSubscribed` again, so the owner can catch up on what it may have missed while disconnected.
public struct RedisSubscriber: Service {
    private let configuration: RedisConfiguration
    private let channels: [String]
    private let logger: Logger
    private let onSubscribed: @Sendable () async -> Void
    private let onMessage: @Sendable (RedisMessage) async -> Void

    /// Creates a subscriber; nothing connects until it runs.
    public init(
        configuration: RedisConfiguration,
        channels: [String],
        logger: Logger,
        onSubscribed: @escaping @Sendable () async -> Void = {},
        onMessage: @escaping @Sendable (RedisMessage) async -> Void
    ) {
        precondition(!channels.isEmpty, "a subscriber needs at least one channel")
        self.configuration = configuration
        self.channels = channels
        self.logger = logger
        self.onSubscribed = onSubscribed
        self.onMessage = onMessage
    }

    /// Receives until graceful shutdown.
    public func run() async throws {
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        await cancelWhenGracefulShutdown {
            await receiveLoop(on: thread)
        }
        try await thread.shutdownGracefully()
    }

    private func receiveLoop(on thread: NIOThreadPool) async {
        await repeatUntilCancelled(backoff: Backoff(initial: .milliseconds(100)), failed: { error, wait in
            logger.warning("subscriber lost Redis; retrying", metadata: ["error": "\(error)", "retry_in": "\(wait)"])
        }) { backoff in
            let connection = try await thread.runIfActive { [configuration, channels] in
                let connection = try RedisConnection(configuration: configuration)
                _ = try connection.command(["SUBSCRIBE"] + channels)
                // One confirmation per channel; the first came back as the command's reply.
                for _ in 1..<channels.count { _ = try connection.readReply() }
                return connection
            }
            logger.info("subscribed", metadata: ["channels": "\(channels.joined(separator: ","))"])
            backoff.reset()
            await onSubscribed()
            while !Task.isCancelled {
                guard let reply = try await thread.runIfActive({ try connection.pollReply(milliseconds: 250) }) else { continue }
                let parts = reply.elements
                if parts.count == 3, parts[0].string == "message", let channel = parts[1].string, let payload = parts[2].string {
                    await onMessage(RedisMessage(channel: channel, payload: payload))
                }
            }
        }
    }
}
