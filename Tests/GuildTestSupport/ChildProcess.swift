import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process started with `posix_spawn`, with default signal handling and an empty
/// signal mask (a child spawned from a concurrency thread would otherwise inherit blocked
/// signals and ignore SIGTERM), reaped with `waitpid`.
///
/// Nothing here blocks the calling thread: waiting is polling with `Task.sleep`, so a test that
/// waits for a process leaves Swift's cooperative threads (two on two cores) to everything else.
public final class ChildProcess: Sendable {
    /// How the process ended.
    public enum Termination: Equatable, Sendable {
        /// Exited with this status.
        case exited(Int32)
        /// Killed by this signal.
        case signalled(Int32)
    }

    /// The process id.
    public let pid: pid_t
    private let ended = Mutex<Termination?>(nil)

    /// Starts `arguments[0]` (looked up on the PATH) with `environment` (`NAME=value`);
    /// stdout and stderr go to `output` (default: /dev/null).
    public init(_ arguments: [String], environment: [String]? = nil, output: String = "/dev/null") throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGCHLD, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let env = environment ?? Self.currentEnvironment()
        let envp = env.map { strdup($0) } + [nil]
        defer { envp.forEach { free($0) } }

        var pid = pid_t()
        let result = posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else { throw Failure(message: "could not start \(arguments[0]): error \(result)") }
        self.pid = pid
    }

    /// The environment of this process, as `NAME=value` strings.
    public static func currentEnvironment() -> [String] {
        var result: [String] = []
        var pointer = environ
        while let entry = pointer.pointee {
            result.append(String(cString: entry))
            pointer += 1
        }
        return result
    }

    /// Sends `signal` (default SIGTERM), unless it has already ended.
    public func signal(_ signal: Int32 = SIGTERM) {
        if poll() == nil { sendSignal(signal, to: pid) }
    }

    /// Whether it has ended, without waiting.
    public func poll() -> Termination? {
        ended.withLock { ended in
            if let ended { return ended }
            var status: Int32 = 0
            guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
            let signal = status & 0x7f
            ended = signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
            return ended
        }
    }

    /// Waits up to `timeout` for it to end; nil when it is still running.
    public func wait(timeout: Duration) async -> Termination? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let ended = poll() { return ended }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return poll()
    }

    /// SIGTERM, then SIGKILL if it has not ended after `grace`; how it ended.
    @discardableResult
    public func stop(grace: Duration = .seconds(10)) async -> Termination? {
        signal(SIGTERM)
        if let ended = await wait(timeout: grace) { return ended }
        return await kill()
    }

    /// SIGKILL, and how it ended.
    @discardableResult
    public func kill() async -> Termination? {
        signal(SIGKILL)
        return await wait(timeout: .seconds(30))
    }

    /// Runs `body` with the process started from `arguments`, and stops it afterwards (also
    /// when `body` throws).
    public static func running<T>(
        _ arguments: [String], environment: [String]? = nil, output: String = "/dev/null", grace: Duration = .seconds(10),
        _ body: (ChildProcess) async throws -> T
    ) async throws -> T {
        let process = try ChildProcess(arguments, environment: environment, output: output)
        return try await withCleanup { try await body(process) } then: { await process.stop(grace: grace) }
    }

    deinit {
        // A process nobody stopped: killed, and reaped on a thread of its own rather than here,
        // where the last reference may have been dropped on a cooperative thread.
        guard poll() == nil else { return }
        sendSignal(SIGKILL, to: pid)
        let pid = pid
        Thread.detachNewThread {
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}

private func sendSignal(_ signal: Int32, to pid: pid_t) {
    kill(pid, signal)
}

/// Runs `body`, then `cleanup` — also when `body` throws — and gives `body`'s outcome: an
/// asynchronous `defer`, for stopping what a test started without blocking a thread.
public func withCleanup<T>(_ body: () async throws -> T, then cleanup: () async -> Void) async throws -> T {
    let result: T
    do {
        result = try await body()
    } catch {
        await cleanup()
        throw error
    }
    await cleanup()
    return result
}
