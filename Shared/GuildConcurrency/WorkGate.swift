import Synchronization

/// Decides, for work with a deadline, whether the deadline may still answer for it: until the
/// work makes its effects permanent, the deadline wins and the work must undo what it did;
/// from then on the work's own outcome is the answer. So an answer of ``DeadlineExceeded``
/// always means nothing was written.
public final class WorkGate: Sendable {
    enum Phase {
        /// Waiting for what the work needs (a connection); nothing done yet.
        case waiting
        /// Doing what can still be undone (a transaction before its commit).
        case working
        /// Making it permanent: the deadline no longer answers.
        case committing
        /// The deadline answered: the work must not begin, or must undo what it did.
        case abandoned
    }

    private let phase = Mutex(Phase.waiting)

    /// Creates a gate for one piece of work.
    public init() {}

    /// The work has what it waited for and starts; false when the deadline has answered already.
    public func begin() -> Bool {
        phase.withLock { phase in
            guard case .waiting = phase else { return false }
            phase = .working
            return true
        }
    }

    /// The work is about to make its effects permanent; false when the deadline has answered
    /// already (undo instead).
    public func commit() -> Bool {
        phase.withLock { phase in
            switch phase {
            case .abandoned: return false
            case .waiting, .working, .committing:
                phase = .committing
                return true
            }
        }
    }

    /// Called at the deadline: the phase the work was in, and whether the deadline may answer.
    func abandon() -> (mayAnswer: Bool, wasWaiting: Bool) {
        phase.withLock { phase in
            switch phase {
            case .waiting:
                phase = .abandoned
                return (true, true)
            case .working:
                phase = .abandoned
                return (true, false)
            case .abandoned:
                return (true, false)
            case .committing:
                return (false, false)
            }
        }
    }
}
