import Configuration
import GuildServiceKit
import Hummingbird

/// Builds the tickets service from configuration (the executable and the tests both call this).
public func buildApplication(reader: ConfigReader) async throws -> some ApplicationProtocol {
    buildGuildApplication(try ServiceDependencies(.tickets, reader: reader), routes: { _ in })
}
