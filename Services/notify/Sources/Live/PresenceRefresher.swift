import Logging
import ServiceLifecycle

/// Keeps this replica's room members present in Redis (their entries expire unless refreshed,
/// so a replica that dies leaves no one behind for long).
struct PresenceRefresher: Service {
    let rooms: TicketRooms

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: TicketRooms.presenceLifetime / 3)
                await rooms.refreshPresence()
            }
        }
    }
}
