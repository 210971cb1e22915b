import Foundation
import Logging
import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The Engine.IO sessions this replica holds, and their heartbeat.
///
/// A session lives on the replica that created it: its sid starts with the replica's id, and
/// nginx sends every request carrying that sid to that replica (a `map` on `$arg_sid`), so
/// polling needs no sticky cookies. As a `Service` it sends the pings that are due, closes
/// sessions whose client stopped answering, and closes them all when the replica stops.
public final class EngineSessions: Service, Sendable {
    /// This replica's id, the prefix of its sids.
    public let replica: String
    private let namespace: any SocketIONamespace
    private let sessions = Mutex<[String: EngineSession]>([:])
    private let logger: Logger

    /// How often the heartbeat looks at every session.
    public static let tick: Duration = .milliseconds(500)

    /// The sessions of replica `replica`, whose default namespace runs `namespace`.
    public init(replica: String, namespace: any SocketIONamespace, logger: Logger) {
        self.replica = replica
        self.namespace = namespace
        self.logger = logger
    }

    /// A replica id from `configured` (`NOTIFY_REPLICA_ID`), else the host's name (a container's
    /// short id under compose); letters, digits and `-` only, since it travels in URLs and nginx
    /// matches it.
    public static func replicaId(configured: String?) -> String {
        let candidate = configured.flatMap { $0.isEmpty ? nil : $0 } ?? hostName()
        let allowed = candidate.prefix(63).filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        return allowed.isEmpty ? "notify" : String(allowed)
    }

    private static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: Sessions

    /// Creates and registers a session.
    public func create(transport: EngineSession.Transport) -> EngineSession {
        let session = EngineSession(sid: EngineIO.makeId(prefix: replica), transport: transport, namespace: namespace)
        sessions.withLock { $0[session.sid] = session }
        return session
    }

    /// The session `sid`, if this replica holds it: open, or closed with packets its client has
    /// yet to poll (a session that ended sends `session_ended` and DISCONNECT last).
    public func session(_ sid: Substring) -> EngineSession? {
        sessions.withLock { $0[String(sid)] }
    }

    /// How long a closed session's last packets wait for a poll before it is forgotten.
    public static let lastPacketsWait: Duration = .seconds(10)

    /// How many sessions are open here.
    public var count: Int { sessions.withLock { $0.count } }

    /// Closes `session` (if it is not yet) and forgets it.
    public func finish(_ session: EngineSession, reason: ConnectionOutbox.CloseReason = .ended) async {
        session.close(reason)
        _ = sessions.withLock { $0.removeValue(forKey: session.sid) }
        await session.finish()
    }

    // MARK: Heartbeat

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.tick)
                let now = ContinuousClock.now
                let all = self.sessions.withLock { Array($0.values) }
                for session in all where session.tick(now: now) {
                    // Out of the rooms at once; forgotten once its client has what was left for it.
                    await session.finish()
                    if session.outbox.isDrained || session.closed(before: now - Self.lastPacketsWait) {
                        _ = self.sessions.withLock { $0.removeValue(forKey: session.sid) }
                    }
                }
            }
        }
        // The replica stops: every client is told to go (and reconnects to another replica).
        let all = sessions.withLock { Array($0.values) }
        if !all.isEmpty { logger.info("closing socket.io sessions", metadata: ["count": "\(all.count)"]) }
        for session in all { await finish(session, reason: .shutdown) }
    }
}
