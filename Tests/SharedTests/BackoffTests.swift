import GuildConcurrency
import GuildTestSupport
import Synchronization
import Testing

/// Loops that keep a dependency, and queued work, come back after a growing wait.
@Suite("Backoff", .watched)
struct BackoffTests {
    @Test func aQueuedJobWaitsDoubleEachAttemptUpToTheCap() {
        let backoff = Backoff(initial: .seconds(1), cap: .seconds(60))
        for (attempts, full) in [(0, 1), (1, 1), (2, 2), (3, 4), (7, 60), (40, 60)] {
            #expect(backoff.delay(afterAttempts: attempts) == .seconds(full), "after \(attempts)")
        }
    }

    @Test func withJitterTheWaitsAreSpreadBetweenHalfAndAll() {
        let backoff = Backoff(initial: .seconds(1), cap: .seconds(60), jitter: true)
        for (attempts, full) in [(1, 1), (2, 2), (3, 4), (7, 60), (40, 60)] {
            let waits = (0..<50).map { _ in backoff.delay(afterAttempts: attempts) }
            #expect(waits.allSatisfy { $0 >= .seconds(full) / 2 && $0 <= .seconds(full) }, "\(attempts): \(waits.prefix(3))")
            #expect(Set(waits.map { $0.components.attoseconds }).count > 1, "the waits are spread")
        }
    }

    @Test func aLoopsWaitDoublesAfterEachFailureAndStartsAgainAfterASuccess() {
        var backoff = Backoff(initial: .milliseconds(100), cap: .milliseconds(350))
        #expect([backoff.next(), backoff.next(), backoff.next(), backoff.next()] == [.milliseconds(100), .milliseconds(200), .milliseconds(350), .milliseconds(350)])
        backoff.reset()
        #expect(backoff.next() == .milliseconds(100))
    }

    @Test func retryUntilSuccessHearsEachFailureWithItsWait() async throws {
        let failures = Mutex<[Duration]>([])
        let attempts = Mutex(0)
        let answer = try await retryUntilSuccess(backoff: Backoff(initial: .milliseconds(1), cap: .milliseconds(4)), failed: { _, wait in
            failures.withLock { $0.append(wait) }
        }) {
            let attempt = attempts.withLock { $0 += 1; return $0 }
            if attempt < 4 { throw DeadlineExceeded() }
            return "done"
        }
        #expect(answer == "done")
        #expect(failures.withLock { $0 } == [.milliseconds(1), .milliseconds(2), .milliseconds(4)])
    }

    @Test func repeatUntilCancelledEndsWhenItsTaskIsCancelledEvenWhileWaiting() async {
        let runs = Mutex(0)
        let loop = Task {
            await repeatUntilCancelled(backoff: Backoff(initial: .seconds(3600)), failed: { _, _ in }) { _ in
                runs.withLock { $0 += 1 }
                throw DeadlineExceeded()
            }
        }
        while runs.withLock({ $0 }) == 0 { await Task.yield() }
        loop.cancel()
        await loop.value  // returns although the wait after the failure was an hour
        #expect(runs.withLock { $0 } == 1)
    }
}
