import Foundation
import GuildPostgres
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
        await pollForWork(every: interval, logger: logger, waiting: "broadcast pushes wait for the database") {
            try await NotificationRepository.pushNextBatch(database, logger: logger) > 0
        }
    }
}
