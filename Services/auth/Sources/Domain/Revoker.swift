import GuildAuth
import GuildRedis
import Logging

/// Makes a revocation take effect: at once on this replica, within a second on the others
/// (Redis pub/sub), and for replicas that were away, from PostgreSQL when they reconnect.
struct Revoker: Sendable {
    let list: RevocationList
    let redis: RedisClient

    func revoke(_ entry: RevocationList.Entry, logger: Logger) async {
        list.add(entry)
        do {
            _ = try await redis.publish(entry.payload, to: RevocationList.channel)
        } catch {
            logger.warning("revocation not published; other replicas reload it when Redis returns", metadata: ["error": "\(error)"])
        }
    }
}
