import Configuration
import Foundation
import GuildCore
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// The whole of a service's `main`: read the environment, build, run until SIGTERM.
/// A configuration problem stops start-up with one clear line and exit code 1.
///
/// Call it first thing in `main` (it must start on the main thread): unless
/// `GUILDHALL_EXECUTOR=swift` is set, Swift Concurrency's tasks then run on SwiftNIO's event loops, so a
/// request's handler runs on the thread that read it and writes its answer without switching
/// threads twice per request. Nothing in the services blocks a task (bcrypt and hiredis run on
/// their own thread pools), which is what this needs.
@MainActor
public func runGuildService<App: ApplicationProtocol>(_ build: (ConfigReader) async throws -> App) async throws {
    let reader = ConfigReader(provider: EnvironmentVariablesProvider())
    let application: App
    let shutdown: ShutdownLimits
    do {
        shutdown = try ShutdownLimits(reader: reader)
        // `EVENT_LOOPS`: how many event loops the process runs (default: one per core).
        if let loops = reader.string(forKey: "event.loops") {
            guard let count = Int(loops), (1...256).contains(count) else {
                throw ConfigurationError.invalid("EVENT_LOOPS", "must be a number between 1 and 256")
            }
            NIOSingletons.groupLoopCountSuggestion = count
        }
        if reader.string(forKey: "guildhall.executor", default: "event-loops") != "swift" {
            NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        }
        application = try await build(reader)
    } catch let error as ConfigurationError {
        LogWriter.standardError.writeNow(Data("configuration error: \(error)\n".utf8))
        exit(1)
    }
    defer { LogWriter.standardError.flush() }
    try await runUntilShutdown(application, limits: shutdown)
}

/// How long a stopping service may take: first to finish what is in flight, then to cancel.
struct ShutdownLimits: Sendable {
    /// `SHUTDOWN_GRACE_SECONDS` (default 5, 1–60): after SIGTERM, requests in flight and the
    /// jobs' current step may finish; whatever is still running then is cancelled.
    var grace: Duration
    /// Cancelled work must end within this (2 s); otherwise the process ends with an error
    /// rather than hang, so a supervisor never waits out its own kill timeout.
    var cancellation: Duration = .seconds(2)

    init(reader: ConfigReader) throws {
        self.grace = try Self.grace(reader: reader)
    }

    /// `SHUTDOWN_GRACE_SECONDS`, checked.
    static func grace(reader: ConfigReader) throws -> Duration {
        let seconds = reader.string(forKey: "shutdown.grace.seconds", default: "5")
        guard let value = Int(seconds), (1...60).contains(value) else {
            throw ConfigurationError.invalid("SHUTDOWN_GRACE_SECONDS", "must be a whole number of seconds from 1 to 60")
        }
        return .seconds(value)
    }
}

/// Runs `application` until SIGTERM or SIGINT, logging when the shutdown begins and how long it took.
func runUntilShutdown<App: ApplicationProtocol>(_ application: App, limits: ShutdownLimits) async throws {
    let logger = application.logger
    let announcer = ShutdownAnnouncer(logger: logger)
    var configuration = ServiceGroupConfiguration(
        services: [
            .init(service: application),
            // Only says when the shutdown begins; its ending must not end the group.
            .init(service: announcer, successTerminationBehavior: .ignore),
        ],
        gracefulShutdownSignals: [.sigterm, .sigint],
        logger: logger
    )
    configuration.maximumGracefulShutdownDuration = limits.grace
    configuration.maximumCancellationDuration = limits.cancellation
    // Just before the group would give up on a stop, the log names what is holding it.
    announcer.onShutdown = {
        ServiceWatch.shared.stopConnections()
        return ServiceWatch.shared.reportOverrun(after: limits.grace + limits.cancellation * 0.75, logger: logger)
    }
    try await ServiceGroup(configuration: configuration).run()
    announcer.stopEnded()
    if let began = announcer.began {
        logger.info("stopped", metadata: ["shutdown_took": "\(ContinuousClock.now - began)"])
    }
}

/// Logs the start of a graceful shutdown, so a service's log always shows that it was asked to stop.
final class ShutdownAnnouncer: Service, Sendable {
    private let logger: Logger
    private struct State {
        var began: ContinuousClock.Instant?
        var onShutdown: (@Sendable () -> @Sendable () -> Void)?
        var cancelWatch: (@Sendable () -> Void)?
    }
    private let state = Mutex(State())

    init(logger: Logger) { self.logger = logger }

    /// When the shutdown began, if it did.
    var began: ContinuousClock.Instant? { state.withLock { $0.began } }

    /// Called when the shutdown begins; what it returns is called when the stop has ended.
    var onShutdown: (@Sendable () -> @Sendable () -> Void)? {
        get { state.withLock { $0.onShutdown } }
        set { state.withLock { $0.onShutdown = newValue } }
    }

    /// The group has ended.
    func stopEnded() {
        state.withLock { $0.cancelWatch }?()
    }

    func run() async throws {
        do {
            try await gracefulShutdown()
        } catch {
            return  // cancelled: the group ended for another reason
        }
        let onShutdown = state.withLock { state in
            state.began = .now
            return state.onShutdown
        }
        let cancelWatch = onShutdown?()
        state.withLock { $0.cancelWatch = cancelWatch }
        logger.info("shutting down: no new connections; finishing what is in flight")
    }
}
