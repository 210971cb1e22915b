import Foundation
import GuildServiceKit
import Logging
import ServiceLifecycle

/// Turns each broadcast into push jobs for every user with a device, 500 users at a time, after
/// the request that stored it (see ``NotificationRepository/pushNextBatch(_:batch:logger:)``).
/// Runs in every replica; each batch is one replica's.
struct BroadcastPusher: Service {
    let database: Database
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown { await loop() }
    }

    private func loop() async {
        while !Task.isCancelled {
            do {
                if try await NotificationRepository.pushNextBatch(database, logger: logger) > 0 { continue }
            } catch {
                if Task.isCancelled { return }
                logger.warning("broadcast pushes wait for the database", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
