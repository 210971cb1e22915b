import Synchronization

/// An answer that is given again for a while instead of being asked for anew: a public health
/// route that asks other services must not let every caller make it ask them again.
public final class RecentAnswer<Value: Sendable>: Sendable {
    private let lifetime: Duration
    private let last = Mutex<(value: Value, at: ContinuousClock.Instant)?>(nil)

    /// Answers are reused for `lifetime` after they were made.
    public init(lifetime: Duration) {
        self.lifetime = lifetime
    }

    /// The last answer while it is younger than the lifetime; otherwise a new one from `make`.
    public func value(_ make: () async -> Value) async -> Value {
        if let known = last.withLock({ $0 }), known.at.duration(to: .now) < lifetime { return known.value }
        let value = await make()
        last.withLock { $0 = (value, .now) }
        return value
    }
}
