import Foundation
import Logging
import ServiceLifecycle

/// Gives effect to level changes (events, tools, role updates; see ``RewardQueue``). Runs in
/// every replica; one works the queue at a time.
struct LevelChangeWorker: Service {
    let queue: RewardQueue
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown { await loop() }
    }

    private func loop() async {
        while !Task.isCancelled {
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
