import GuildConcurrency
import Logging
import NIOPosix
import ServiceLifecycle

/// One entry read from a stream.
public struct RedisStreamEntry: Sendable, Equatable {
    /// The entry id (`1700000000000-0`).
    public var id: String
    /// Field/value pairs; empty when the entry was trimmed away while pending.
    public var fields: [String: String]
}

/// Reads a stream as a member of a consumer group, on a connection and thread of its own.
///
/// Each entry is handed to the handler; it is acknowledged only when the handler returns true, so
/// an entry whose handling failed is delivered again (first the consumer's own pending entries,
/// then entries another consumer left pending for over a minute). Handlers must be idempotent.
public struct RedisStreamReader: Service {
    private let configuration: RedisConfiguration
    private let stream: String
    private let group: String
    private let consumer: String
    private let logger: Logger
    private let handler: @Sendable (RedisStreamEntry) async -> Bool

    /// Creates the reader; the group is created (from the stream's start) on first connect.
    public init(
        configuration: RedisConfiguration,
        stream: String,
        group: String,
        consumer: String,
        logger: Logger,
        handler: @escaping @Sendable (RedisStreamEntry) async -> Bool
    ) {
        var configuration = configuration
        configuration.commandTimeout = .seconds(5)
        self.configuration = configuration
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.logger = logger
        self.handler = handler
    }

    /// Reads until graceful shutdown.
    public func run() async throws {
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        await cancelWhenGracefulShutdown { await readLoop(on: thread) }
        try await thread.shutdownGracefully()
    }

    private func readLoop(on thread: NIOThreadPool) async {
        await repeatUntilCancelled(backoff: Backoff(initial: .milliseconds(100)), failed: { error, wait in
            logger.warning("stream reader lost Redis; retrying", metadata: ["error": "\(error)", "retry_in": "\(wait)"])
        }) { backoff in
            let connection = try await thread.runIfActive { [configuration, stream, group] in
                let connection = try RedisConnection(configuration: configuration)
                do {
                    _ = try connection.command(["XGROUP", "CREATE", stream, group, "0", "MKSTREAM"])
                } catch RedisError.server(let message) where message.hasPrefix("BUSYGROUP") {
                    // The group exists already: carry on from where it is.
                }
                return connection
            }
            backoff.reset()
            var backlog = true
            var lastClaim = ContinuousClock.now
            while !Task.isCancelled {
                if lastClaim.duration(to: .now) > .seconds(30) {
                    lastClaim = .now
                    let claimed = try await thread.runIfActive { [stream, group, consumer] in
                        try connection.command(["XAUTOCLAIM", stream, group, consumer, "60000", "0-0", "COUNT", "100"])
                    }
                    if claimed.elements.count >= 2, !claimed.elements[1].elements.isEmpty { backlog = true }
                }
                // The backlog (own pending entries, id 0) first; then new entries (id >), blocking up to a second.
                let reply = try await thread.runIfActive { [stream, group, consumer, backlog] in
                    backlog
                        ? try connection.command(["XREADGROUP", "GROUP", group, consumer, "COUNT", "100", "STREAMS", stream, "0"])
                        : try connection.command(["XREADGROUP", "GROUP", group, consumer, "COUNT", "100", "BLOCK", "1000", "STREAMS", stream, ">"])
                }
                let entries = Self.entries(in: reply)
                var failed = false
                for entry in entries {
                    if await handler(entry) {
                        _ = try await thread.runIfActive { [stream, group] in try connection.command(["XACK", stream, group, entry.id]) }
                    } else {
                        failed = true
                    }
                }
                if failed {
                    // Leave the failed entries pending and come back to them after a pause.
                    backlog = true
                    try await Task.sleep(for: .seconds(1))
                } else if backlog && entries.isEmpty {
                    backlog = false
                }
            }
        }
    }

    /// Parses an `XREADGROUP` reply: `[[stream, [[id, [field, value, …]], …]]]`.
    static func entries(in reply: RedisValue) -> [RedisStreamEntry] {
        reply.elements.flatMap { streamReply -> [RedisStreamEntry] in
            let parts = streamReply.elements
            guard parts.count == 2 else { return [] }
            return parts[1].elements.compactMap { item in
                let pair = item.elements
                guard pair.count == 2, let id = pair[0].string else { return nil }
                var fields: [String: String] = [:]
                let flat = pair[1].elements
                var index = 0
                while index + 1 < flat.count {
                    if let key = flat[index].string, let value = flat[index + 1].string { fields[key] = value }
                    index += 2
                }
                return RedisStreamEntry(id: id, fields: fields)
            }
        }
    }
}
