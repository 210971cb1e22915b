/// Waits that double after each failure, up to a cap: how every loop that keeps a dependency
/// (a Redis subscription, a LISTEN, the JWKS, the relay) comes back after losing it.
public struct Backoff: Sendable {
    /// The first wait.
    public let initial: Duration
    /// The longest wait.
    public let cap: Duration
    /// When true each wait is between half of it and all of it, so callers that failed together
    /// do not all come back at once.
    public let jitter: Bool
    /// The wait the next failure will take.
    public private(set) var current: Duration

    /// Waits from `initial` doubling to `cap`.
    public init(initial: Duration = .milliseconds(200), cap: Duration = .seconds(5), jitter: Bool = false) {
        self.initial = initial
        self.cap = cap
        self.jitter = jitter
        self.current = initial
    }

    /// After a success: the next failure waits `initial` again.
    public mutating func reset() {
        current = initial
    }

    /// After a failure: the wait to take now; the next one doubles.
    public mutating func next() -> Duration {
        let wait = current
        current = min(current * 2, cap)
        return jitter ? wait * Double.random(in: 0.5...1.0) : wait
    }

    /// Sleeps ``next()``; returns early, without throwing, when the task is cancelled.
    public mutating func pause() async {
        try? await Task.sleep(for: next())
    }

    /// The wait before attempt `attempts + 1` of a job that keeps its attempt count (a queue's
    /// row): `initial`, doubling per attempt, up to `cap`.
    public func delay(afterAttempts attempts: Int) -> Duration {
        let full = min(initial * Double(1 << min(max(attempts - 1, 0), 20)), cap)
        return jitter ? full * Double.random(in: 0.5...1.0) : full
    }
}

/// Runs `body` again and again until the task is cancelled. When it throws, `failed` hears the
/// error and the wait about to be taken, and the loop waits ``Backoff/next()`` before the next
/// run; `body` calls ``Backoff/reset()`` when it has made progress (connected, delivered).
public func repeatUntilCancelled(
    backoff: Backoff = Backoff(), failed: (any Error, Duration) -> Void, _ body: (inout Backoff) async throws -> Void
) async {
    var backoff = backoff
    while !Task.isCancelled {
        do {
            try await body(&backoff)
        } catch {
            if Task.isCancelled || error is CancellationError { return }
            let wait = backoff.next()
            failed(error, wait)
            try? await Task.sleep(for: wait)
        }
    }
}

/// Runs `operation` until it succeeds, waiting with `backoff` after each failure (which `failed`
/// hears); throws `CancellationError` when the task is cancelled first.
public func retryUntilSuccess<T>(
    backoff: Backoff = Backoff(), failed: (any Error, Duration) -> Void, _ operation: () async throws -> T
) async throws -> T {
    var backoff = backoff
    while true {
        do {
            return try await operation()
        } catch {
            try Task.checkCancellation()
            let wait = backoff.next()
            failed(error, wait)
            try await Task.sleep(for: wait)
        }
    }
}
