import Foundation
import GuildCore
import GuildEvents
import GuildServiceKit
import Logging
import PostgresNIO
import ServiceLifecycle

/// Closes tickets left idle past `auto_close_hours`. Runs in every replica; each ticket closes
/// once, in whichever replica reaches it first (see ``TicketRepository/closeIdle(logger:)``, below).
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

extension TicketRepository {
    /// Closes open tickets idle for longer than the settings allow, each once whichever replica
    /// gets there first, with a closing message and `tickets.closed`. Returns how many it closed.
    func closeIdle(logger: Logger) async throws -> Int {
        try await database.transaction(logger: logger) { connection in
            let settings = try await Self.settings(on: connection, logger: logger)
            guard settings.autoCloseHours > 0 else { return 0 }
            var due: [UUID] = []
            let rows = try await connection.query(
                """
                UPDATE tickets SET status = 'closed', closed_at = now(), last_activity_at = now()
                WHERE id IN (
                    SELECT id FROM tickets WHERE status = 'open' AND last_activity_at < now() - make_interval(hours => \(settings.autoCloseHours)::int)
                    ORDER BY last_activity_at LIMIT 100 FOR UPDATE SKIP LOCKED
                )
                RETURNING id
                """,
                logger: logger
            )
            for try await id in rows.decode(UUID.self) { due.append(id) }
            for id in due {
                let note = "Closed after \(settings.autoCloseHours) hours without a message. Reopen it if you still need help."
                _ = try await Self.insert(note, in: id, by: nil, clientId: nil, on: connection, logger: logger)
                guard let ticket = try await Self.ticket(id, reader: UUID(), on: connection, logger: logger) else { continue }
                try await Outbox.write(try Self.event(EventType.ticketClosed, ticket: ticket, by: nil), on: connection, logger: logger)
            }
            return due.count
        }
    }
}
