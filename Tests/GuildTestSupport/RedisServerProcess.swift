import Foundation
import Synchronization

/// A redis-server of the test's own, on a free loopback port, that the test may stop and restart.
///
/// Starting, stopping and killing it wait without blocking a thread (see ``ChildProcess``).
public final class RedisServerProcess: Sendable {
    /// The port it listens on (kept across restarts).
    public let port: Int
    private let process = Mutex<ChildProcess?>(nil)
    private let binary: String
    /// Where the append-only file lives, when the server persists (kept across restarts).
    public let appendOnlyDirectory: String?

    /// How long a start may take before it is a failure: redis-server is listening within
    /// milliseconds on an idle machine; this ceiling is only reached when it cannot start at all.
    static let startCeiling = Duration.seconds(30)

    /// Picks a free port; call ``start()`` to run the server. With `appendOnlyDirectory` it
    /// persists as the local stack's does (`--appendonly yes --appendfsync everysec` in that
    /// folder), so a restart finds what a killed server had acknowledged.
    public init(appendOnlyDirectory: String? = nil) throws {
        self.binary = ProcessInfo.processInfo.environment["GUILDHALL_REDIS_SERVER"] ?? "redis-server"
        self.port = try Loopback.freePort()
        self.appendOnlyDirectory = appendOnlyDirectory
    }

    /// Runs `body` with a started server, and stops it afterwards (also when `body` throws).
    public static func withServer<T>(appendOnlyDirectory: String? = nil, _ body: (RedisServerProcess) async throws -> T) async throws -> T {
        let server = try RedisServerProcess(appendOnlyDirectory: appendOnlyDirectory)
        return try await withCleanup {
            try await server.start()
            return try await body(server)
        } then: {
            await server.stop()
        }
    }

    /// `redis://127.0.0.1:<port>`.
    public var url: String { "redis://127.0.0.1:\(port)" }

    /// Starts the server and waits until it accepts connections.
    public func start() async throws {
        let persistence = appendOnlyDirectory.map { ["--appendonly", "yes", "--appendfsync", "everysec", "--dir", $0] } ?? ["--appendonly", "no"]
        let started = try ChildProcess([binary, "--port", String(port), "--bind", "127.0.0.1", "--save", ""] + persistence + ["--logfile", ""])
        process.withLock { $0 = started }
        let listening = await eventually(timeout: Self.startCeiling, every: .milliseconds(20)) {
            if started.poll() != nil { return true }
            return await Loopback.accepts(port: port)
        }
        guard listening, started.poll() == nil else {
            throw Failure(message: "redis-server did not start on port \(port): \(String(describing: started.poll()))")
        }
    }

    /// Stops the server and waits for it to exit.
    public func stop() async {
        await process.withLock { process in defer { process = nil }; return process }?.stop(grace: .seconds(10))
    }

    /// Kills the server with SIGKILL (no shutdown, no last write) and waits for it to exit.
    public func kill() async {
        await process.withLock { process in defer { process = nil }; return process }?.kill()
    }

    struct Failure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}
