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
}
