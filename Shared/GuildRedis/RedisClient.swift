import Logging
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A small pool of hiredis connections whose blocking calls run on a thread pool of their own,
/// never on an event loop.
///
/// It never crashes when Redis is away: a command fails with ``RedisError/connection(_:)`` and
/// the next one reconnects. Run it as a `Service` so its threads stop with the service group.
public final class RedisClient: Service, Sendable {
    /// Where Redis is.
    public let configuration: RedisConfiguration
    private let threadPool: NIOThreadPool
    private let idle: Mutex<[RedisConnection]>
    private let maximumIdle: Int
    private let logger: Logger

    /// Creates the client and starts its threads; connections are opened on first use.
    public init(configuration: RedisConfiguration, threads: Int = 4, logger: Logger) {
        self.configuration = configuration
        self.threadPool = NIOThreadPool(numberOfThreads: threads)
        self.threadPool.start()
        self.idle = Mutex([])
        self.maximumIdle = threads
        self.logger = logger
    }

    /// Waits for graceful shutdown, then closes the connections and stops the threads.
    public func run() async throws {
        try? await gracefulShutdown()
        try await shutdown()
    }

    /// Closes the connections and stops the threads (for use outside a service group).
    public func shutdown() async throws {
        idle.withLock { $0.removeAll() }
        try await threadPool.shutdownGracefully()
    }

    /// Sends one command, for example `["SET", key, value, "EX", "60"]`.
    @discardableResult
    public func send(_ arguments: [String]) async throws -> RedisValue {
        do {
            return try await threadPool.runIfActive { [self] in
                let connection = try checkOut()
                do {
                    let reply = try connection.command(arguments)
                    checkIn(connection)
                    return reply
                } catch {
                    if !connection.isBroken { checkIn(connection) }
                    throw error
                }
            }
        } catch let error as RedisError {
            throw error
        } catch {
            throw RedisError.shutDown
        }
    }

    private func checkOut() throws -> RedisConnection {
        if let connection = idle.withLock({ $0.popLast() }) { return connection }
        return try RedisConnection(configuration: configuration)
    }

    private func checkIn(_ connection: RedisConnection) {
        idle.withLock { connections in
            if connections.count < maximumIdle { connections.append(connection) }
        }
    }
}

// MARK: - Commands the services use

extension RedisClient {
    /// `PING`: true when Redis answers.
    public func ping() async throws {
        let reply = try await send(["PING"])
        guard reply.string == "PONG" else { throw RedisError.unexpectedReply("PING answered \(reply)") }
    }

    /// `PUBLISH`: returns how many subscribers received it.
    @discardableResult
    public func publish(_ message: String, to channel: String) async throws -> Int {
        try await send(["PUBLISH", channel, message]).int ?? 0
    }

    /// `EVAL` of a Lua script with its keys and arguments.
    public func eval(_ script: String, keys: [String], arguments: [String]) async throws -> RedisValue {
        try await send(["EVAL", script, String(keys.count)] + keys + arguments)
    }
}
