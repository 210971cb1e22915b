import Foundation

/// A redis-server of the test's own, on a free loopback port, that the test may stop and restart.
public final class RedisServerProcess: @unchecked Sendable {
    /// The port it listens on (kept across restarts).
    public let port: Int
    private var process: ChildProcess?
    private let binary: String
    /// Where the append-only file lives, when the server persists (kept across restarts).
    public let appendOnlyDirectory: String?

    /// Picks a free port; call ``start()`` to run the server. With `appendOnlyDirectory` it
    /// persists as the local stack's does (`--appendonly yes --appendfsync everysec` in that
    /// folder), so a restart finds what a killed server had acknowledged.
    public init(appendOnlyDirectory: String? = nil) throws {
        self.binary = ProcessInfo.processInfo.environment["GUILDHALL_REDIS_SERVER"] ?? "redis-server"
        self.port = try Self.freePort()
        self.appendOnlyDirectory = appendOnlyDirectory
    }

    /// `redis://127.0.0.1:<port>`.
    public var url: String { "redis://127.0.0.1:\(port)" }

    /// Starts the server and waits until it accepts connections.
    public func start() throws {
        let persistence = appendOnlyDirectory.map { ["--appendonly", "yes", "--appendfsync", "everysec", "--dir", $0] } ?? ["--appendonly", "no"]
        let process = try ChildProcess([binary, "--port", String(port), "--bind", "127.0.0.1", "--save", ""] + persistence + ["--logfile", ""])
        self.process = process
        for _ in 0..<100 where !Self.accepts(port: port) { usleep(50_000) }
        guard Self.accepts(port: port) else { throw Failure(message: "redis-server did not start on port \(port)") }
    }

    /// Stops the server and waits for it to exit.
    public func stop() {
        process?.stop(grace: .seconds(5))
        process = nil
    }

    /// Kills the server with SIGKILL (no shutdown, no last write) and waits for it to exit.
    public func kill() {
        process?.signal(SIGKILL)
        _ = process?.waitBlocking(timeout: .seconds(5))
        process = nil
    }

    deinit { stop() }

    struct Failure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// Whether something accepts TCP connections on `port` of 127.0.0.1.
    public static func accepts(port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    /// A port nobody listens on now (bind to port 0, read it back, release it).
    public static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw Failure(message: "no free port") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
