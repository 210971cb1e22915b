import Configuration
import Foundation
import Hummingbird
import NIOCore
import NIOPosix

/// The whole of a service's `main`: read the environment, build, run until SIGTERM.
/// A configuration problem stops start-up with one clear line and exit code 1.
///
/// Call it first thing in `main` (it must start on the main thread): unless
/// `GUILDHALL_EXECUTOR=swift` is set, Swift Concurrency's tasks then run on SwiftNIO's event loops, so a
/// request's handler runs on the thread that read it and writes its answer without switching
/// threads twice per request. Nothing in the services blocks a task (bcrypt and hiredis run on
/// their own thread pools), which is what this needs.
@MainActor
public func runGuildService<App: ApplicationProtocol>(_ build: (ConfigReader) async throws -> App) async throws {
    let reader = ConfigReader(provider: EnvironmentVariablesProvider())
    let application: App
    do {
        // `EVENT_LOOPS`: how many event loops the process runs (default: one per core).
        if let loops = reader.string(forKey: "event.loops") {
            guard let count = Int(loops), (1...256).contains(count) else {
                throw ConfigurationError.invalid("EVENT_LOOPS", "must be a number between 1 and 256")
            }
            NIOSingletons.groupLoopCountSuggestion = count
        }
        if reader.string(forKey: "guildhall.executor", default: "event-loops") != "swift" {
            NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        }
        application = try await build(reader)
    } catch let error as ConfigurationError {
        FileHandle.standardError.write(Data("configuration error: \(error)\n".utf8))
        exit(1)
    }
    try await application.runService()
}
