import Foundation
import GuildCore
import GuildEvents
import Logging
import PostgresNIO

/// `discord.member_joined` → the member's profile (0 XP, level 0), once; a member who has one keeps it.
enum MemberJoinedHandler {
    static func handler(leaderboard: Leaderboard) -> EventConsumer.Handler {
        { event, connection, logger in
            guard let discordId = (try? event.payload(DiscordReport.self))?.discordId, DiscordId.isValid(discordId) else {
                logger.warning("member_joined without a Discord id", metadata: ["event_id": "\(event.id)"])
                return
            }
            let created = try await connection.query(
                "INSERT INTO profiles (discord_id) VALUES (\(discordId)) ON CONFLICT (discord_id) DO NOTHING RETURNING 1", logger: logger
            )
            guard try await created.decode(Int.self).first(where: { _ in true }) != nil else { return }
            await leaderboard.record([(discordId, 0)], onlyIncreases: true)
            logger.info("profile made for a member who joined", metadata: ["discord_id": "\(discordId)"])
        }
    }
}
