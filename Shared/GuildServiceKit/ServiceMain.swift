import Configuration
import Foundation
import Hummingbird

/// The whole of a service's `main`: read the environment, build, run until SIGTERM.
/// A configuration problem stops start-up with one clear line and exit code 1.
public func runGuildService<App: ApplicationProtocol>(_ build: (ConfigReader) async throws -> App) async throws {
    let reader = ConfigReader(provider: EnvironmentVariablesProvider())
    let application: App
    do {
        application = try await build(reader)
    } catch let error as ConfigurationError {
        FileHandle.standardError.write(Data("configuration error: \(error)\n".utf8))
        exit(1)
    }
    try await application.runService()
}
