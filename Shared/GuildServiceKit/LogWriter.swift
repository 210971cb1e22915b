import Dispatch
import Foundation
import Synchronization

/// Writes log lines to standard error from a queue of its own, never from the thread that logs.
///
/// A service's tasks run on its event loops (``runGuildService(_:)``), and standard error is often
/// a pipe (a container runtime, a supervisor): when its reader falls behind, a `write` waits, and
/// an event loop waiting on it stops answering every connection it holds. Here the thread that
/// logs only queues the line. Up to ``limit`` bytes wait; past that, lines are dropped and counted,
/// and the count is written once the reader catches up. A critical line, and the last lines of a
/// stopping process, are waited for — up to a second, so a reader that stopped reading cannot
/// hold the process either.
final class LogWriter: Sendable {
    /// The process's standard error.
    static let standardError = LogWriter(descriptor: 2)

    /// Bytes that may wait to be written.
    static let limit = 8 << 20

    private let descriptor: Int32
    private let queue = DispatchQueue(label: "guildhall.log-writer")
    private let pending = Atomic<Int>(0)
    private let dropped = Atomic<Int>(0)

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// Queues `line` (which ends with a newline) and returns at once.
    func write(_ line: Data) {
        let size = line.count
        guard pending.add(size, ordering: .relaxed).newValue <= Self.limit else {
            pending.subtract(size, ordering: .relaxed)
            dropped.add(1, ordering: .relaxed)
            return
        }
        queue.async { [self] in
            writeDroppedCount()
            writeAll(line)
            pending.subtract(size, ordering: .relaxed)
        }
    }

    /// Queues `line` and waits, up to `limit`, until it and everything before it are written.
    func writeNow(_ line: Data, within limit: Duration = .seconds(1)) {
        write(line)
        flush(within: limit)
    }

    /// Waits, up to `limit`, until every line queued so far is written: a reader that stopped
    /// reading must not keep a stopping process from ending.
    func flush(within limit: Duration = .seconds(1)) {
        let written = DispatchSemaphore(value: 0)
        queue.async { written.signal() }
        let (seconds, attoseconds) = limit.components
        _ = written.wait(timeout: .now() + .nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)))
    }

    private func writeDroppedCount() {
        let lost = dropped.exchange(0, ordering: .relaxed)
        if lost > 0 { writeAll(Data("log: \(lost) lines dropped while standard error was not being read\n".utf8)) }
    }

    private func writeAll(_ data: Data) {
        data.withUnsafeBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR || errno == EAGAIN { continue }
                    return  // closed or broken: nothing to do but not block
                }
                offset += written
            }
        }
    }
}
