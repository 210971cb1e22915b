import Configuration
import GuildServiceKit
import Hummingbird

/// Builds the tickets service from configuration (the executable and the tests both call this).
public func buildApplication(reader: ConfigReader) async throws -> some ApplicationProtocol {
    let dependencies = try ServiceDependencies(settings: ServiceSettings(service: "tickets", defaultPort: 8083, reader: reader))
    return buildGuildApplication(dependencies, migrations: TicketsMigrations.runner, routes: { _ in })
}
