import GuildConcurrency
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The service's connection pool, watched: one extra connection is held open to see the database
/// go away the moment it does, so that
///
/// - while the database is unreachable, ``lease(_:)`` throws ``DatabaseUnreachable`` at once
///   instead of queueing the caller until its deadline, and the callers already waiting for a
///   connection are answered then too (the pool they wait on is shut down);
/// - within `probeInterval` of the database's return a fresh pool takes over, connecting at
///   once, instead of the old pool retrying on a back-off that grows to a minute.
///
/// An error on a leased connection that suggests an outage makes the pool try a new connection
/// of its own; only when that fails too is the database taken to be down.
public final class PostgresPool: PostgresSource, Service {
    private enum Reachability {
        case reachable(PostgresClient)
        case unreachable
    }

    private let reachability: Mutex<Reachability>
    private let clientConfiguration: PostgresClient.Configuration
    private let watchConfiguration: PostgresConnection.Configuration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    /// The pools' own logger: errors only (a pool warns when leased before its `run()` began,
    /// which is how a replaced pool starts).
    private let poolLogger: Logger
    private let probeInterval: Duration
    /// The connection held open to watch the database; closed to make the watch look again.
    private let watchConnection = Mutex<PostgresConnection?>(nil)
    private let suspicions: AsyncStream<Void>
    private let suspicionInput: AsyncStream<Void>.Continuation
    /// Hands the task that runs the pools a new one to run, or nil to stop the current one.
    private let pools: AsyncStream<PostgresClient?>
    private let poolInput: AsyncStream<PostgresClient?>.Continuation

    /// Creates the pool; nothing connects until ``run()``.
    public init(
        client: PostgresClient.Configuration,
        watch: PostgresConnection.Configuration,
        eventLoopGroup: any EventLoopGroup,
        logger: Logger,
        probeInterval: Duration = .milliseconds(100)
    ) {
        self.clientConfiguration = client
        self.watchConfiguration = watch
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        var poolLogger = logger
        poolLogger.logLevel = .error
        self.poolLogger = poolLogger
        self.probeInterval = probeInterval
        let first = PostgresClient(configuration: client, eventLoopGroup: eventLoopGroup, backgroundLogger: poolLogger)
        self.reachability = Mutex(.reachable(first))
        (suspicions, suspicionInput) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        (pools, poolInput) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
        poolInput.yield(first)
    }

    /// False while the database is known to be unreachable.
    public var isReachable: Bool {
        reachability.withLock { if case .reachable = $0 { true } else { false } }
    }

    public func lease<Result: Sendable>(_ body: (PostgresConnection) async throws -> Result) async throws -> Result {
        let client: PostgresClient? = reachability.withLock { if case .reachable(let client) = $0 { client } else { nil } }
        guard let client else { throw DatabaseUnreachable() }
        do {
            return try await client.withConnection { connection in try await body(connection) }
        } catch {
            if Self.suggestsOutage(error) { suspicionInput.yield() }
            throw error
        }
    }

    public func run() async {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await self.runPools() }
                group.addTask { await self.watch() }
                group.addTask { await self.checkSuspicions() }
            }
        }
    }

    /// Runs each pool from when it is made until the next one replaces it.
    private func runPools() async {
        await withDiscardingTaskGroup { group in
            var retireCurrent: AsyncStream<Void>.Continuation?
            for await pool in pools {
                retireCurrent?.finish()
                guard let pool else {
                    retireCurrent = nil
                    continue
                }
                let (retired, retire) = AsyncStream<Void>.makeStream()
                retireCurrent = retire
                group.addTask {
                    await withDiscardingTaskGroup { lifetime in
                        lifetime.addTask { await self.run(pool) }
                        for await _ in retired {}
                        lifetime.cancelAll()
                    }
                }
            }
            retireCurrent?.finish()
        }
    }

    /// How long a pool that is told to stop may take to close its connections.
    static let stopLimit: Duration = .seconds(1)

    /// Runs `pool` until cancelled, then waits at most ``stopLimit`` for it to end.
    ///
    /// A cancelled PostgresNIO pool closes its connections and ends once all are closed, but it
    /// cannot close one still being opened, or one whose holder has not given it back yet, and
    /// waits for them: seen taking more than six seconds at the end of a busy run, which would
    /// make a stopping service overrun its grace and crash. Past the limit the stop goes on
    /// (with a warning); the process is ending, and those connections end with it. The pool runs
    /// in a task of its own for that reason only: its end can be waited for with a bound.
    private func run(_ pool: PostgresClient) async {
        let ended = EndSignal()
        let running = Task {
            await pool.run()
            ended.signal()
        }
        let loop = eventLoopGroup.any()
        let logger = self.logger
        await withTaskCancellationHandler {
            await ended.wait()
        } onCancel: {
            running.cancel()
            loop.scheduleTask(in: TimeAmount(Self.stopLimit)) {
                if ended.giveUp() {
                    logger.warning("the database pool did not close its connections within \(Self.stopLimit) of the stop; going on without it")
                }
            }
        }
    }

    /// Holds a connection open; when it closes or cannot be made, the database is unreachable
    /// until a new one can be made, and a fresh pool is handed out then.
    private func watch() async {
        var attempt = 0
        while !Task.isCancelled {
            attempt += 1
            let connection: PostgresConnection
            do {
                connection = try await PostgresConnection.connect(
                    on: eventLoopGroup.any(), configuration: watchConfiguration, id: attempt, logger: logger
                )
            } catch {
                markUnreachable(error)
                try? await Task.sleep(for: probeInterval)
                continue
            }
            markReachable()
            watchConnection.withLock { $0 = connection }
            try? await withTaskCancellationHandler {
                try await connection.closeFuture.get()
            } onCancel: {
                connection.closeNow()
            }
            watchConnection.withLock { $0 = nil }
        }
    }

    /// A caller's error suggested an outage: if a query on the watching connection fails too,
    /// the watch starts over (and finds the database down if it is).
    private func checkSuspicions() async {
        for await _ in suspicions {
            guard let connection = watchConnection.withLock({ $0 }) else { continue }
            do {
                try await withDeadline(.seconds(1)) { _ = try await connection.query("SELECT 1", logger: self.logger) }
            } catch {
                connection.closeNow()
            }
        }
    }

    private func markUnreachable(_ error: any Error) {
        let wasReachable = reachability.withLock { reachability in
            defer { reachability = .unreachable }
            if case .reachable = reachability { return true }
            return false
        }
        guard wasReachable else { return }
        logger.warning("database unreachable; answering at once until it is back", metadata: ["error": "\(String(reflecting: error))"])
        // The pool's waiting callers are answered as it shuts down; a fresh one comes with the database.
        poolInput.yield(nil)
    }

    private func markReachable() {
        let fresh: PostgresClient? = reachability.withLock { reachability in
            guard case .unreachable = reachability else { return nil }
            let fresh = PostgresClient(configuration: clientConfiguration, eventLoopGroup: eventLoopGroup, backgroundLogger: poolLogger)
            reachability = .reachable(fresh)
            return fresh
        }
        guard let fresh else { return }
        poolInput.yield(fresh)
        logger.notice("database reachable again")
    }

    /// Errors of the connection rather than of the query: the database may be gone.
    private static func suggestsOutage(_ error: any Error) -> Bool {
        if let error = error as? PostgresTransactionError {
            return [error.beginError, error.closureError, error.commitError].contains { $0.map(suggestsOutage) ?? false }
        }
        guard let error = error as? PSQLError else { return false }
        if error.code == .server {
            let state = error.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || state.hasPrefix("57P")
        }
        return error.code == .connectionError || error.code == .serverClosedConnection || error.code == .uncleanShutdown

    }
}

extension PostgresConnection {
    /// Closes the connection without waiting for it.
    fileprivate func closeNow() {
        let closing: EventLoopFuture<Void> = close()
        closing.whenComplete { _ in }
    }
}

/// The end of a pool's run, or the moment its wait is given up, whichever comes first.
private final class EndSignal: Sendable {
    private struct State {
        var done = false
        var waiter: CheckedContinuation<Void, Never>?
    }
    private let state = Mutex(State())

    /// Waits for ``signal()`` or ``giveUp()`` (not cut short by cancellation).
    func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state in
                if state.done { return true }
                state.waiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    /// The run ended.
    func signal() {
        _ = finish()
    }

    /// Stops waiting; true when the run had not ended.
    func giveUp() -> Bool {
        finish()
    }

    private func finish() -> Bool {
        let (waiter, first) = state.withLock { state -> (CheckedContinuation<Void, Never>?, Bool) in
            guard !state.done else { return (nil, false) }
            state.done = true
            defer { state.waiter = nil }
            return (state.waiter, true)
        }
        waiter?.resume()
        return first
    }
}
