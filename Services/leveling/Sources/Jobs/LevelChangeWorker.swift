import Foundation
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
        while !Task.isCancelled {
            if lastPrune.duration(to: .now) > .seconds(600) {
                lastPrune = .now
                if let pruned = try? await queue.pruneBotEvents(logger: logger), pruned > 0 {
                    logger.info("old bot event answers deleted", metadata: ["count": "\(pruned)"])
                }
            }
            do {
                // A full batch means more may be waiting: go on at once.
                if try await queue.processLevelChanges(logger: logger) == 100 { continue }
            } catch {
                if Task.isCancelled { return }
                logger.warning("level changes wait for the database", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
