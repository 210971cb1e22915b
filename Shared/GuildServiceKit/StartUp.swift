import GuildConcurrency
import GuildMigrations
import Logging
import ServiceLifecycle

/// Applies migrations, retrying with backoff while PostgreSQL is unreachable, then opens `ready`.
///
/// A SIGTERM while it waits ends the wait: the service stops instead of retrying forever.
public func migrateUntilDone(_ migrations: MigrationRunner, dependencies: ServiceDependencies) async throws {
    try await retryUntilDone("waiting for PostgreSQL to apply migrations", logger: dependencies.logger) {
        try await migrations.run(on: dependencies.postgres, logger: dependencies.logger)
    }
    dependencies.ready.open()
}

/// Runs `operation` until it succeeds, logging `waiting` and backing off (250 ms doubling to 5 s)
/// after each failure; an attempt that has not ended within `attempt` counts as a failure. A
/// SIGTERM while it waits ends the wait with `CancellationError`, even if an attempt is stuck.
public func retryUntilDone(
    _ waiting: String, logger: Logger, attempt: Duration = .seconds(30), _ operation: @escaping @Sendable () async throws -> Void
) async throws {
    try await cancelWhenGracefulShutdown {
        try await retryUntilSuccess(backoff: Backoff(initial: .milliseconds(250)), failed: { error, _ in
            logger.warning("\(waiting)", metadata: ["error": "\(String(reflecting: error))"])
        }) {
            try await withDeadline(attempt, operation)
        }
    }
}

/// Runs a service only after the schema is migrated.
struct AfterMigrations: Service {
    let service: any Service
    let ready: ReadySignal

    init(_ service: any Service, ready: ReadySignal) {
        self.service = service
        self.ready = ready
    }

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await ready.wait() }
        } catch is CancellationError {
            return
        }
        try await service.run()
    }
}

