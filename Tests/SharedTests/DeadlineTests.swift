import Dispatch
import Foundation
import GuildConcurrency
import GuildServiceKit
import Testing

@Suite("withDeadline answers on time, whatever the operation does")
struct DeadlineTests {
    /// Waits `seconds` without ever looking at cancellation, like a client stuck on a lease.
    static func stubbornWait(_ seconds: Double) async -> Int {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { continuation.resume(returning: 1) }
        }
    }

    @Test func anOperationThatIgnoresCancellationStillEndsAtTheDeadline() async throws {
        let started = ContinuousClock.now
        await #expect(throws: DeadlineExceeded.self) {
            try await withDeadline(.milliseconds(100)) { await Self.stubbornWait(3) }
        }
        #expect(ContinuousClock.now - started < .seconds(2))
    }

    @Test func aQuickOperationGivesItsResultOrItsError() async throws {
        #expect(try await withDeadline(.seconds(2)) { 42 } == 42)
        struct Oops: Error {}
        await #expect(throws: Oops.self) { try await withDeadline(.seconds(2)) { throw Oops() } }
    }

    @Test func cancellingTheCallerEndsTheWaitAtOnce() async throws {
        let started = ContinuousClock.now
        let task = Task { try await withDeadline(.seconds(30)) { await Self.stubbornWait(3) } }
        try await Task.sleep(for: .milliseconds(50))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(ContinuousClock.now - started < .seconds(2))
    }
}
