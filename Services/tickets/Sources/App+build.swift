import Configuration
import GuildCore
import GuildServiceKit
import Hummingbird

/// Builds the tickets service from configuration (the executable and the tests both call this).
public func buildApplication(reader: ConfigReader) async throws -> some ApplicationProtocol {
    let dependencies = try ServiceDependencies(.tickets, reader: reader)
    let interval = try reader.int(forKey: "tickets.autoclose.interval.ms", default: 60_000, in: 50...3_600_000)
    let tickets = TicketRepository(database: dependencies.database, events: dependencies.events)

    return buildGuildApplication(
        dependencies,
        routes: { routes in
            // The settings and stats routes come first: `config` and `stats` are not ticket ids.
            let ticketRoutes = TicketsController(tickets: tickets, users: dependencies.users)
            routes.signedIn("/api/tickets", StatsController(database: dependencies.database).staffEndpoints)
            let settingsRoutes = SettingsController(tickets: tickets)
            routes.signedIn("/api/tickets", settingsRoutes.readEndpoints)
            routes.signedIn("/api/tickets", settingsRoutes.endpoints, ticketRoutes.adminEndpoints)
            routes.signedIn("/api/tickets", ticketRoutes.endpoints)
        },
        internalRoutes: { internalRoutes in
            internalRoutes.addRoutes(RoomsController(tickets: tickets).endpoints)
        },
        jobs: [IdleTicketCloser(tickets: tickets, interval: .milliseconds(interval), logger: dependencies.logger)]
    )
}
