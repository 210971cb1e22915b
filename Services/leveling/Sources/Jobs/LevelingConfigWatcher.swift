import GuildCore
import GuildEvents
import GuildRedis
import Logging
import ServiceLifecycle

/// Keeps this replica's settings in step with the stored ones: reloaded when a change's
/// `leveling.config_changed` arrives (milliseconds after the change commits), once subscribed (a
/// change made while Redis was away), and every five seconds in case an event was missed.
struct LevelingConfigWatcher: Service {
    let store: LevelingConfigStore
    let redis: RedisConfiguration
    let logger: Logger

    func run() async throws {
        let subscriber = RedisSubscriber(
            configuration: redis, channels: [EventChannels.channel(for: EventType.levelingConfigChanged)], logger: logger,
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
            try await store.reload(logger: logger)
        } catch {
            logger.warning("leveling settings not reloaded; the ones in force stay", metadata: ["error": "\(error)"])
        }
    }
}
