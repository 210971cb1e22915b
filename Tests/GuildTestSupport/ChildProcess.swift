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
public final class ChildProcess: @unchecked Sendable {
    /// How the process ended.
    public enum Termination: Equatable, Sendable {
        /// Exited with this status.
        case exited(Int32)
        /// Killed by this signal.
        case signalled(Int32)
    }

    /// The process id.
    public let pid: pid_t
    private var ended: Termination?

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

    /// Sends `signal` (default SIGTERM).
    public func signal(_ signal: Int32 = SIGTERM) {
        if ended == nil { kill(pid, signal) }
    }

    /// Whether it has ended, without waiting.
    public func poll() -> Termination? {
        if let ended { return ended }
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        guard result == pid else { return nil }
        let signal = status & 0x7f
        ended = signal == 0 ? .exited((status >> 8) & 0xff) : .signalled(signal)
        return ended
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

    /// Waits (blocking the thread, briefly) up to `timeout` for it to end.
    public func waitBlocking(timeout: Duration) -> Termination? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let ended = poll() { return ended }
            usleep(10_000)
        }
        return poll()
    }

    /// SIGTERM, then SIGKILL if it has not ended after `grace`.
    public func stop(grace: Duration = .seconds(10)) {
        signal(SIGTERM)
        if waitBlocking(timeout: grace) == nil {
            signal(SIGKILL)
            _ = waitBlocking(timeout: .seconds(5))
        }
    }

    deinit {
        if poll() == nil {
            kill(pid, SIGKILL)
            _ = waitBlocking(timeout: .seconds(5))
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}
