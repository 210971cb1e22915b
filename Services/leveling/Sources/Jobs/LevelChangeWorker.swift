import Foundation
import GuildServiceKit
import Logging
import ServiceLifecycle

/// Gives effect to level changes (events, tools, role updates; see ``RewardQueue``), and now and
/// then deletes the answers to the bot's events that no event can need any more. Runs in every
/// replica; one works the queue at a time.
struct LevelChangeWorker: Service {
    let queue: RewardQueue
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown { await loop() }
    }

    private func loop() async {
        var lastPrune = ContinuousClock.now - .seconds(3600)
        await pollForWork(every: interval, logger: logger, waiting: "level changes wait for the database") {
            if lastPrune.duration(to: .now) > .seconds(600) {
                lastPrune = .now
                if let pruned = try? await queue.pruneBotEvents(logger: logger), pruned > 0 {
                    logger.info("old bot event answers deleted", metadata: ["count": "\(pruned)"])
                }
            }
            // A full batch means more may be waiting: go on at once.
            return try await queue.processLevelChanges(logger: logger) == 100
        }
    }
}
