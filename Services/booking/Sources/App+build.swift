import Configuration
import GuildServiceKit
import Hummingbird

/// Builds the booking service from configuration (the executable and the tests both call this).
public func buildApplication(reader: ConfigReader) async throws -> some ApplicationProtocol {
    let dependencies = try ServiceDependencies(settings: ServiceSettings(service: "booking", defaultPort: 8082, reader: reader))
    return buildGuildApplication(dependencies, migrations: BookingMigrations.runner, routes: { _ in })
}
