import Foundation
import GuildPostgres
import Logging
import ServiceLifecycle

/// Starts and ends bookings on time. Runs in every replica; each transition happens once,
/// in whichever replica reaches it first (see ``BookingRepository/advance(to:batch:logger:)``).
struct LifecycleScheduler: Service {
    let bookings: BookingRepository
    let interval: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown { await loop() }
    }

    private func loop() async {
        var ticks = 0
        while !Task.isCancelled {
            do {
                // A full batch means more are due: go again at once.
                while try await bookings.advance(to: Date(), logger: logger) >= 200 {}
                ticks += 1
                if ticks % 3600 == 1 { try await bookings.pruneIdempotencyKeys(logger: logger) }
            } catch {
                if Task.isCancelled { return }
                logger.warning("booking lifecycle waiting for the database", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: interval)
        }
    }
}
