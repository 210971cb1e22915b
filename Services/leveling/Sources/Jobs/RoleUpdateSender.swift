import Foundation
import GuildClients
import GuildServiceKit
import Logging
import ServiceLifecycle

/// Sends role updates to the bot (`POST /internal/roles/update`), in order per member, each
/// until the bot takes it: a failed one is tried again with the queue's backoff, for as long as it takes. Without a bot configured the updates wait.
struct RoleUpdateSender: Service {
    let queue: RewardQueue
    let bot: BotClient?
    let interval: Duration
    let logger: Logger

    func run() async throws {
        guard let bot else {
            logger.notice("BOT_INTERNAL_URL is not set: role updates wait until a bot is configured")
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown { await loop(bot) }
    }

    private func loop(_ bot: BotClient) async {
        await pollForWork(every: interval, logger: logger, waiting: "role updates wait for the database") {
            let delivered = try await queue.deliverRoleUpdates(logger: logger) { update in
                let change = BotClient.RolesUpdate(discordId: update.discordId, addRoles: update.addRoles, removeRoles: update.removeRoles)
                try await bot.updateRoles(change, idempotencyKey: "leveling-role-update-\(update.id)")
            }
            if delivered > 0 { logger.info("role updates delivered", metadata: ["count": "\(delivered)"]) }
            return delivered > 0
        }
    }
}
