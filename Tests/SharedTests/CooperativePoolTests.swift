import Foundation
import GuildTestSupport
import Testing

/// Swift's cooperative threads — two on two cores — run every test of the process. One blocked by
/// a synchronous wait (for a process, a socket, a semaphore, blocking I/O) stalls every other test
/// beside it, and their timers and deadlines fire long before their work gets a thread. This
/// watch keeps measuring how late a 10 ms timer fires for as long as the other suites run.
@Suite("The cooperative threads stay free while the rest of the suite runs")
struct CooperativePoolTests {
    /// How late a wake-up may be. Busy threads on a busy machine delay one: by milliseconds through
    /// most of a run (99th percentile 17 ms on 2 cores), by up to 0.7 s at its start, when every
    /// suite begins at once and the services answer all of them. A thread held by a synchronous
    /// wait delays it by as long as the wait — the seconds of a server's start or a process's
    /// shutdown — which is what this catches; 2 s leaves a machine three times slower its room.
    static let bound = Duration.seconds(2)
    static let tick = Duration.milliseconds(10)

    @Test func aTenMillisecondTimerFiresOnTimeForAsLongAsTheOtherSuitesRun() async throws {
        let began = ContinuousClock.now
        var lateness: [Duration] = []
        var worst: [(late: Duration, at: Duration)] = []
        var idleSince: ContinuousClock.Instant?
        while ContinuousClock.now - began < .seconds(1800) {
            let activity = SuiteActivity.now
            // Done once every watched suite has ended, and stayed ended for a second (between two
            // suites none may be under way for a moment); when none runs beside it, after 30 s.
            if activity.running == 0 {
                let since = idleSince ?? ContinuousClock.now
                idleSince = since
                if activity.started > 0, ContinuousClock.now - since > .seconds(1) { break }
                if activity.started == 0, ContinuousClock.now - began > .seconds(30) { break }
            } else {
                idleSince = nil
            }
            let asleep = ContinuousClock.now
            try await Task.sleep(for: Self.tick)
            let late = ContinuousClock.now - asleep - Self.tick
            lateness.append(late)
            worst = Array((worst + [(late, asleep - began)]).sorted { $0.late > $1.late }.prefix(5))
        }
        let sorted = lateness.sorted()
        let summary = sorted.isEmpty ? "no samples" : [
            "\(sorted.count) wake-ups over \(ContinuousClock.now - began)",
            "median \(sorted[sorted.count / 2])", "99th percentile \(sorted[sorted.count * 99 / 100])",
            "the worst " + worst.map { "\($0.late) at \($0.at)" }.joined(separator: ", "), "\(SuiteActivity.now.started) suites watched",
        ].joined(separator: ", ")
        print("cooperative threads: \(summary)")
        let latest = worst.first?.late ?? .zero
        #expect(latest < Self.bound, "a 10 ms timer fired \(latest) late: something held the cooperative threads (\(summary))")
    }
}
