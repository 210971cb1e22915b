import Synchronization
import Testing

/// Which suites of a run are under way, so that ``CooperativePoolWatch`` knows how long to watch:
/// every suite that runs side by side with others carries the ``Trait/watched`` trait.
public enum SuiteActivity {
    /// Suites under way now, and suites begun since the process started.
    public struct Counts: Sendable {
        /// Under way now.
        public var running = 0
        /// Begun so far.
        public var started = 0
    }

    private static let counts = Mutex(Counts())

    /// The counts now.
    public static var now: Counts { counts.withLock { $0 } }

    static func enter() {
        counts.withLock { counts in
            counts.running += 1
            counts.started += 1
        }
    }

    static func leave() {
        counts.withLock { $0.running -= 1 }
    }
}

/// Counts a suite among those under way while it runs (see ``SuiteActivity``).
public struct WatchedSuite: SuiteTrait, TestScoping {
    /// Once for the suite, around all of its tests.
    public var isRecursive: Bool { false }

    /// The suite itself is scoped; its tests are inside that scope.
    public func scopeProvider(for test: Test, testCase: Test.Case?) -> WatchedSuite? {
        test.isSuite ? self : nil
    }

    /// Runs the suite, counted as under way.
    public func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        SuiteActivity.enter()
        defer { SuiteActivity.leave() }
        try await function()
    }
}

extension Trait where Self == WatchedSuite {
    /// The suite runs side by side with others, and the watch on the cooperative threads covers it.
    public static var watched: Self { WatchedSuite() }
}
