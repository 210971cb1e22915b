import Foundation

/// The servers the test script started, read from the environment.
///
/// A missing variable is a failure with a message, never a skip: run the suite through
/// `scripts/test`, which starts PostgreSQL, Redis, the services and nginx and exports these.
public enum TestEnvironment {
    /// Raised when the suite runs without the servers it needs.
    public struct Missing: Error, CustomStringConvertible {
        /// The variable that was not set.
        public let name: String
        /// What to do about it.
        public var description: String { "\(name) is not set: run the tests with scripts/test, which starts the servers they need" }
    }

    /// The value of `name`, or a thrown ``Missing``.
    public static func require(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { throw Missing(name: name) }
        return value
    }

    /// The test PostgreSQL database.
    public static func databaseURL() throws -> String { try require("GUILDHALL_TEST_DATABASE_URL") }
    /// The test Redis.
    public static func redisURL() throws -> String { try require("GUILDHALL_TEST_REDIS_URL") }
    /// nginx in front of the running stack.
    public static func baseURL() throws -> String { try require("GUILDHALL_BASE_URL") }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
///
/// The timeout is a ceiling for what never happens, not a measure: a condition that holds
/// returns at once, so the default is generous enough for a machine that is three times
/// slower, or busy with the rest of the suite.
public func eventually(timeout: Duration = .seconds(30), every interval: Duration = .milliseconds(100), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}

/// Runs a shell command given by the test script (stopping or starting a server) and
/// returns its exit status (-1 when it did not end within two minutes).
@discardableResult
public func runShell(_ command: String) async throws -> Int32 {
    let process = try ChildProcess(["/bin/sh", "-c", command])
    switch await process.wait(timeout: .seconds(120)) {
    case .exited(let status): return status
    case .signalled, nil: return -1
    }
}
