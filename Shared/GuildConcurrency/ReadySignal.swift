import Synchronization

/// A flag that opens once; waiters poll it so they stay cancellable.
public final class ReadySignal: Sendable {
    private let state = Atomic(false)

    /// Creates a closed signal.
    public init() {}

    /// Opens the signal.
    public func open() { state.store(true, ordering: .releasing) }

    /// Whether it is open.
    public var isOpen: Bool { state.load(ordering: .acquiring) }

    /// Waits until it opens; throws `CancellationError` if cancelled first.
    public func wait() async throws {
        while !isOpen { try await Task.sleep(for: .milliseconds(50)) }
    }

    /// Waits until it opens, at most `limit`; whether it is open (false if cancelled first).
    public func wait(atMost limit: Duration) async -> Bool {
        let deadline = ContinuousClock.now + limit
        while !isOpen, ContinuousClock.now < deadline {
            guard (try? await Task.sleep(for: .milliseconds(50))) != nil else { return false }
        }
        return isOpen
    }
}
