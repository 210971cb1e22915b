import Configuration
import GuildServiceKit
import Hummingbird

/// Builds the leveling service from configuration (the executable and the tests both call this).
public func buildApplication(reader: ConfigReader) async throws -> some ApplicationProtocol {
    buildGuildApplication(try ServiceDependencies(.leveling, reader: reader), routes: { _ in })
}
