import Foundation
import GuildRedis
import Logging
import ServiceLifecycle

/// Tells the other replicas how many live connections this one holds: every few seconds its
/// count and the time go into one Redis hash (``key``), field the replica's id, and leave it as the
/// replica stops. A replica that dies stops refreshing its field, and readers skip it once stale.
struct LiveCountReporter: Service {
    static let key = "guildhall:notify:live-counts"
    /// How often the count is written.
    static let interval: Duration = .seconds(5)
    /// A count older than this is a replica gone.
    static let staleAfter: TimeInterval = 20

    let live: LiveConnections
    let replicaId: String
    let redis: RedisClient
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await report()
                try? await Task.sleep(for: Self.interval)
            }
        }
        _ = try? await redis.send(["HDEL", Self.key, replicaId])
    }

    private func report() async {
        let value = "\(live.count):\(Int(Date().timeIntervalSince1970))"
        do {
            _ = try await redis.send(["HSET", Self.key, replicaId, value])
        } catch {
            logger.debug("live count not reported", metadata: ["error": "\(error)"])
        }
    }

    /// The live connections on every replica that reported lately; stale fields are removed.
    static func total(redis: RedisClient, now: Date = Date()) async throws -> Int64 {
        guard case .array(let fields) = try await redis.send(["HGETALL", key]) else { return 0 }
        var total: Int64 = 0
        var stale: [String] = []
        for pair in stride(from: 0, to: fields.count - 1, by: 2) {
            guard case .bulk(let replica) = fields[pair], case .bulk(let value) = fields[pair + 1] else { continue }
            let parts = value.split(separator: ":")
            guard parts.count == 2, let count = Int64(parts[0]), let at = TimeInterval(parts[1]) else { stale.append(replica); continue }
            if now.timeIntervalSince1970 - at > staleAfter { stale.append(replica) } else { total += count }
        }
        if !stale.isEmpty { _ = try? await redis.send(["HDEL", key] + stale) }
        return total
    }
}
