import Foundation
import GuildServiceKit
import Logging
import ServiceLifecycle

/// Closes tickets left idle past `auto_close_hours`. Runs in every replica; each ticket closes
/// once, in whichever replica reaches it first (see ``TicketRepository/closeIdle(logger:)``).
struct IdleTicketCloser: Service {
    let tickets: TicketRepository
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown { await loop() }
    }

    private func loop() async {
        await pollForWork(every: interval, logger: logger, waiting: "closing idle tickets waits for the database") {
            let closed = try await tickets.closeIdle(logger: logger)
            if closed > 0 { logger.info("idle tickets closed", metadata: ["count": "\(closed)"]) }
            return false
        }
    }
}
