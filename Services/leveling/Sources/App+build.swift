import Configuration
import GuildServiceKit
import Hummingbird

/// Builds the leveling service from configuration (the executable and the tests both call this).
public func buildApplication(reader: ConfigReader) async throws -> some ApplicationProtocol {
    let dependencies = try ServiceDependencies(settings: ServiceSettings(service: "leveling", defaultPort: 8084, reader: reader))
    return buildGuildApplication(dependencies, migrations: LevelingMigrations.runner, routes: { _ in })
}
