import Hummingbird
import Logging
import Synchronization

/// The server behind a fake of an outside party (Discord, FCM, the bot): Hummingbird on a fixed
/// loopback port that the test script chose, started once per run and kept until the run ends
/// (restarting on the same port between tests would leave the services holding kept-alive
/// connections to the stopped one).
final class FakeServer: Sendable {
    /// The fake's name, for errors and logs.
    let name: String
    private let listening = Mutex<Task<Void, any Error>?>(nil)

    init(name: String) {
        self.name = name
    }

    /// Starts the server on `port` with the routes `routes` adds, the first time it is called;
    /// returns once it listens — for every caller, however many wait — and throws when it cannot.
    func start(port: Int, routes: @escaping @Sendable (Router<BasicRequestContext>) -> Void) async throws {
        let task = listening.withLock { task in
            if let task { return task }
            let started = Task { [name] in try await Self.listen(name: name, port: port, routes: routes) }
            task = started
            return started
        }
        try await task.value
    }

    /// Runs the server in a task of its own and returns when Hummingbird says it is running.
    private static func listen(name: String, port: Int, routes: @escaping @Sendable (Router<BasicRequestContext>) -> Void) async throws {
        let (running, signal) = AsyncStream.makeStream(of: (any Error)?.self)
        let router = Router()
        routes(router)
        var logger = Logger(label: name)
        logger.logLevel = .critical
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)),
            onServerRunning: { _ in signal.yield(nil) }, logger: logger
        )
        Task {
            do {
                try await app.runService()
                signal.yield(Failure(message: "the \(name) stopped"))
            } catch {
                signal.yield(Failure(message: "the \(name) could not listen on port \(port): \(error)"))
            }
        }
        for await outcome in running {
            if let outcome { throw outcome }
            return
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}
