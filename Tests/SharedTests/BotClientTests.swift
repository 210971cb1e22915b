import GuildServiceKit
import GuildTestSupport
import Testing

/// Calls to the bot come back after a growing wait, spread so failed callers do not return together.
@Suite("BotClient: retry delays", .watched)
struct BotClientTests {
    @Test func theWaitDoublesUpToTheCapWithJitter() {
        for (attempts, full) in [(1, 1), (2, 2), (3, 4), (7, 60), (40, 60)] {
            let waits = (0..<50).map { _ in BotClient.retryDelay(afterFailure: attempts, cap: .seconds(60)) }
            #expect(waits.allSatisfy { $0 >= .seconds(full) / 2 && $0 <= .seconds(full) }, "\(attempts): \(waits.prefix(3))")
            #expect(Set(waits.map { $0.components.attoseconds }).count > 1, "the waits are spread")
        }
    }
}
