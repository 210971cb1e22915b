import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Which of a process's services are still running, and since when each was asked to stop, so
/// that a stop that overruns its grace names what holds it (a log line at `error`) before the
/// service group gives up on it.
///
/// One per process: it describes the process's own stop, whatever built the services.
final class ServiceWatch: Sendable {
    static let shared = ServiceWatch()

    private struct Entry {
        var name: String
        var askedToStop: ContinuousClock.Instant?
    }
    private let running = Mutex<[UInt64: Entry]>([:])
    private let counter = Atomic<UInt64>(0)
    private let connections = Mutex<[ObjectIdentifier: any Channel]>([:])
    private let acceptedChannels = Mutex<[ObjectIdentifier: any Channel]>([:])

    /// How long after a stop began a connection that is neither an HTTP connection between
    /// requests nor one with a request under way may stay: a WebSocket's gateway closes it
    /// within this, and one whose first request has not arrived is cut then.
    static let otherConnectionsGrace: Duration = .seconds(1)

    // MARK: HTTP connections

    /// An HTTP connection of the public listener (see ``ClosingOnShutdown``).
    func register(_ channel: any Channel) {
        connections.withLock { $0[ObjectIdentifier(channel)] = channel }
    }

    /// The connection closed, or became a WebSocket.
    func unregister(_ channel: any Channel) {
        _ = connections.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// A connection the public listener accepted, known until it closes.
    func accepted(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        acceptedChannels.withLock { $0[id] = channel }
        channel.closeFuture.whenComplete { [self] _ in _ = acceptedChannels.withLock { $0.removeValue(forKey: id) } }
    }

    /// Tells every HTTP connection that the stop began (``ClosingOnShutdown`` acts on it), and
    /// cuts every other accepted connection still open ``otherConnectionsGrace`` later.
    func stopConnections() {
        let http = connections.withLock { $0 }
        for channel in http.values { channel.pipeline.fireUserInboundEventTriggered(ServerStopping()) }
        let others = acceptedChannels.withLock { $0 }.filter { http[$0.key] == nil }.values
        for channel in others {
            channel.eventLoop.scheduleTask(in: TimeAmount(Self.otherConnectionsGrace)) { channel.close(promise: nil) }
        }
    }

    // MARK: Services

    /// Runs `service`, recorded as running under `name` until it returns.
    func run(_ service: any Service, name: String) async throws {
        let id = counter.wrappingAdd(1, ordering: .relaxed).newValue
        running.withLock { $0[id] = Entry(name: name) }
        defer { _ = running.withLock { $0.removeValue(forKey: id) } }
        try await withGracefulShutdownHandler {
            try await service.run()
        } onGracefulShutdown: {
            self.running.withLock { $0[id]?.askedToStop = .now }
        }
    }

    /// What is still running: each service, and how long ago it was asked to stop.
    func report(now: ContinuousClock.Instant = .now) -> String {
        let entries = running.withLock { Array($0.values) }.sorted { $0.name < $1.name }
        guard !entries.isEmpty else { return "no background service (the HTTP server's connections, then)" }
        return entries.map { entry in
            entry.askedToStop.map { "\(entry.name) (asked to stop \(now - $0) ago)" } ?? "\(entry.name) (not asked yet: the HTTP server stops first)"
        }.joined(separator: ", ")
    }

    /// Logs what is still running if the stop has not ended `after` from now; returns what
    /// cancels that (once the stop has ended).
    func reportOverrun(after limit: Duration, logger: Logger) -> @Sendable () -> Void {
        let check = MultiThreadedEventLoopGroup.singleton.any().scheduleTask(in: TimeAmount(limit)) {
            logger.error("the stop is overrunning its limits; still running: \(self.report())")
        }
        return { check.cancel() }
    }
}

/// A service run under the process's ``ServiceWatch``.
struct Watched: Service, CustomStringConvertible {
    let service: any Service
    let description: String

    init(_ service: any Service) {
        self.service = service
        self.description = String(describing: type(of: service))
    }

    func run() async throws {
        try await ServiceWatch.shared.run(service, name: description)
    }
}
