import NIOCore
import NIOPosix
import Synchronization

/// Raised when a dependency did not answer in time.
public struct DeadlineExceeded: Error, Sendable {
    /// Creates the error.
    public init() {}
}

/// Runs `operation`, cancelling it and throwing ``DeadlineExceeded`` after `duration`.
///
/// The caller gets its answer at the deadline (or at once when the caller is cancelled) even
/// when the operation does not honour cancellation — a connection lease stuck while the
/// database is away must not hold a request, or a service's shutdown, forever. The operation
/// is cancelled and finishes on its own.
public func withDeadline<T: Sendable>(_ duration: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withDeadline(duration, gate: nil, operation)
}

/// Like ``withDeadline(_:_:)``, for work that writes: at the deadline, `gate` decides. Work still
/// waiting is cancelled; work under way is answered for at once and undoes itself when it asks
/// ``WorkGate/commit()``; work already committing is waited for, up to `commitLimit` more (nil:
/// for as long as it takes).
public func withDeadline<T: Sendable>(
    _ duration: Duration, gate: WorkGate?, commitLimit: Duration? = .seconds(10), _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    let outcome = DeadlineOutcome<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            guard outcome.start(continuation) else { return }
            let work = Task {
                do { outcome.finish(.success(try await operation())) } catch { outcome.finish(.failure(error)) }
            }
            outcome.setWork(work)
            // An event loop's timer rather than a sleeping task: it is set and cancelled on every
            // query, and costs a heap entry instead of a task and a Dispatch timer.
            let loop = MultiThreadedEventLoopGroup.singleton.any()
            let timer = loop.scheduleTask(in: TimeAmount(duration)) {
                guard let gate else {
                    outcome.finish(.failure(DeadlineExceeded()))
                    work.cancel()
                    return
                }
                let (mayAnswer, wasWaiting) = gate.abandon()
                if mayAnswer {
                    outcome.finish(.failure(DeadlineExceeded()))
                    if wasWaiting { work.cancel() }
                    return
                }
                // Committing: its outcome is the answer, unless the database stops answering altogether.
                guard let commitLimit else { return }
                let last = loop.scheduleTask(in: TimeAmount(commitLimit)) {
                    outcome.finish(.failure(DeadlineExceeded()))
                    work.cancel()
                }
                outcome.onFinish { last.cancel() }
            }
            outcome.onFinish { timer.cancel() }
        }
    } onCancel: {
        // The caller goes at once; the work is told to stop too (a service stopping must not
        // leave its work running on, holding connections the service waits for).
        outcome.finish(.failure(CancellationError()))
        outcome.cancelWork()
    }
}

/// The one answer of a ``withDeadline(_:_:)`` call: the first of result, deadline and cancellation.
private final class DeadlineOutcome<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var early: Result<T, any Error>?
        var finished = false
        var cleanups: [@Sendable () -> Void] = []
        var work: Task<Void, Never>?
        var workCancelled = false
    }
    private let state = Mutex(State())

    /// Stores the continuation; false when the call was already answered (cancelled before it began).
    func start(_ continuation: CheckedContinuation<T, any Error>) -> Bool {
        let early: Result<T, any Error>? = state.withLock { state in
            if let early = state.early { return early }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
        return early == nil
    }

    /// Answers once; later answers are dropped.
    func finish(_ result: Result<T, any Error>) {
        let (continuation, cleanups): (CheckedContinuation<T, any Error>?, [@Sendable () -> Void]) = state.withLock { state in
            guard !state.finished else { return (nil, []) }
            state.finished = true
            guard let continuation = state.continuation else {
                state.early = result
                return (nil, [])
            }
            state.continuation = nil
            defer { state.cleanups = [] }
            return (continuation, state.cleanups)
        }
        continuation?.resume(with: result)
        for cleanup in cleanups { cleanup() }
    }

    /// The task doing the work (cancelled at once if ``cancelWork()`` came first).
    func setWork(_ work: Task<Void, Never>) {
        let cancelled = state.withLock { state in
            state.work = work
            return state.workCancelled
        }
        if cancelled { work.cancel() }
    }

    /// Cancels the work (now, or as soon as it is set).
    func cancelWork() {
        let work = state.withLock { state in
            state.workCancelled = true
            return state.work
        }
        work?.cancel()
    }

    /// Runs `cleanup` once the answer is given (at once if it already was).
    func onFinish(_ cleanup: @escaping @Sendable () -> Void) {
        let now = state.withLock { state in
            if state.finished { return true }
            state.cleanups.append(cleanup)
            return false
        }
        if now { cleanup() }
    }
}
