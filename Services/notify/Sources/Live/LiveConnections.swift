import Foundation
import GuildCore
import GuildRedis
import Logging
import Synchronization

/// The WebSocket connections open on this replica, by user.
///
/// Frames for a user are published on one Redis channel; every replica's subscriber hands them
/// to ``deliver(_:)``, so a user's events reach all of their connections, on any replica.
final class LiveConnections: Sendable {
    /// The pub/sub channel that carries frames for users.
    static let channel = "guildhall:notify:live"

    private let connections = Mutex<[String: [UUID: AsyncStream<String>.Continuation]]>([:])

    /// Registers a connection of `userId`; frames for the user arrive on the returned stream.
    func open(userId: String) -> (id: UUID, frames: AsyncStream<String>) {
        let id = UUID()
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(256))
        connections.withLock { $0[userId, default: [:]][id] = continuation }
        return (id, stream)
    }

    /// Removes a connection.
    func close(userId: String, id: UUID) {
        let continuation = connections.withLock { all -> AsyncStream<String>.Continuation? in
            let removed = all[userId]?.removeValue(forKey: id)
            if all[userId]?.isEmpty == true { all[userId] = nil }
            return removed
        }
        continuation?.finish()
    }

    /// How many connections are open here.
    var count: Int { connections.withLock { $0.values.reduce(0) { $0 + $1.count } } }

    /// Hands a message from the channel to the user's local connections.
    func deliver(_ message: RedisMessage) {
        guard let envelope = try? GuildJSON.decoder.decode(LiveFrame.self, from: Data(message.payload.utf8)) else { return }
        let targets = connections.withLock { Array(($0[envelope.userId] ?? [:]).values) }
        for continuation in targets { continuation.yield(envelope.frame) }
    }

    /// Publishes `frame` (a JSON object as text) to every connection of `userId`, on every replica.
    static func publish(frame: String, to userId: String, redis: RedisClient) async throws {
        try await redis.publish(try GuildJSON.string(LiveFrame(userId: userId, frame: frame)), to: channel)
    }
}

/// What travels on the live channel.
struct LiveFrame: Codable {
    var userId: String
    var frame: String
}
