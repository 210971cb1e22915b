import Dispatch
import Foundation
import GuildConcurrency
import GuildServiceKit
import GuildTestSupport
import Synchronization
import Testing

@Suite("withDeadline answers on time, whatever the operation does")
struct DeadlineTests {
    /// Work that takes `seconds` without ever looking at cancellation, like a client stuck on a
    /// lease; it says when it has begun and whether it has finished.
    final class StubbornWork: Sendable {
        let seconds: Double
        private let started = Atomic(false)
        private let finished = Atomic(false)

        init(seconds: Double) {
            self.seconds = seconds
        }

        var hasStarted: Bool { started.load(ordering: .acquiring) }
        var hasFinished: Bool { finished.load(ordering: .acquiring) }

        func run() async -> Int {
            started.store(true, ordering: .releasing)
            return await withCheckedContinuation { continuation in
                DispatchQueue.global().asyncAfter(deadline: .now() + seconds) {
                    self.finished.store(true, ordering: .releasing)
                    continuation.resume(returning: 1)
                }
            }
        }
    }

    /// The answer comes at the deadline, not when the work ends: the work is still going when it
    /// does. (Measured against the work it cuts short, so a slow machine changes nothing.)
    @Test func anOperationThatIgnoresCancellationStillEndsAtTheDeadline() async throws {
        let work = StubbornWork(seconds: 60)
        let deadline = Duration.milliseconds(100)
        let began = ContinuousClock.now
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(deadline) { await work.run() }
        }
        #expect(ContinuousClock.now - began >= deadline, "answered before its deadline")
        #expect(!work.hasFinished, "the answer waited for the work it should have cut short")
    }

    /// A deadline far beyond what the work takes: its result or its error, never the deadline.
    @Test func aQuickOperationGivesItsResultOrItsError() async throws {
        #expect(try await withDeadline(.seconds(60)) { 42 } == 42)
        struct Oops: Error {}
        await #expect(throws: Oops.self) { try await withDeadline(.seconds(60)) { throw Oops() } }
    }

    /// Cancelling the caller answers it with the cancellation, long before both its deadline and
    /// the end of the work.
    @Test func cancellingTheCallerEndsTheWaitAtOnce() async throws {
        let work = StubbornWork(seconds: 60)
        let task = Task { try await withDeadline(.seconds(120)) { await work.run() } }
        #expect(await eventually { work.hasStarted }, "the work never began")
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(!work.hasFinished, "the answer waited for the work")
    }

    /// The work is cancelled along with its caller (a stopping service must not leave it
    /// running on, holding a connection the service's pool waits for).
    @Test func cancellingTheCallerCancelsTheWork() async throws {
        let began = Atomic(false)
        let cancelled = Atomic(false)
        let task = Task {
            try await withDeadline(.seconds(120)) {
                began.store(true, ordering: .releasing)
                do { try await Task.sleep(for: .seconds(60)) } catch { cancelled.store(true, ordering: .releasing) }
            }
        }
        #expect(await eventually { began.load(ordering: .acquiring) }, "the work never began")
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(await eventually { cancelled.load(ordering: .acquiring) }, "the work went on after its caller was cancelled")
    }
}
