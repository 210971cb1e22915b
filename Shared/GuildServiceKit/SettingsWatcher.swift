import GuildCore
import GuildEvents
import GuildRedis
import Logging
import ServiceLifecycle

/// Keeps this replica's ``RuntimeSettings`` in step with the stored ones: reloaded when a change's
/// event arrives (milliseconds after the change commits), once subscribed (a change made while
/// Redis was away), and every five seconds in case an event was missed.
public struct SettingsWatcher<Document: Codable & Sendable & Equatable>: Service {
    let settings: RuntimeSettings<Document>
    let redis: RedisConfiguration
    let logger: Logger

    /// Creates the watcher of `settings`.
    public init(_ settings: RuntimeSettings<Document>, redis: RedisConfiguration, logger: Logger) {
        self.settings = settings
        self.redis = redis
        self.logger = logger
    }

    public func run() async throws {
        let subscriber = RedisSubscriber(
            configuration: redis, channels: [EventChannels.channel(for: settings.changeEvent)], logger: logger,
            onSubscribed: { await reload() }, onMessage: { _ in await reload() }
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await subscriber.run() }
            group.addTask {
                await cancelWhenGracefulShutdown {
                    while !Task.isCancelled {
                        await reload()
                        try? await Task.sleep(for: .seconds(5))
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    private func reload() async {
        do {
            try await settings.reload(logger: logger)
        } catch {
            logger.warning("settings not reloaded; the ones in force stay", metadata: ["event": "\(settings.changeEvent)", "error": "\(error)"])
        }
    }
}
