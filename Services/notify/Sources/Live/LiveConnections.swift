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

    private let connections = Mutex<[String: [UUID: AsyncStream<Outgoing>.Continuation]]>([:])

    /// Registers a connection of `userId`; what it is to send arrives on the returned stream, in order.
    func open(userId: String) -> (id: UUID, outgoing: AsyncStream<Outgoing>) {
        let id = UUID()
        let (stream, continuation) = AsyncStream<Outgoing>.makeStream(bufferingPolicy: .bufferingNewest(1024))
        connections.withLock { $0[userId, default: [:]][id] = continuation }
        return (id, stream)
    }

    /// Queues `outgoing` on one connection of `userId` (if it is still open here).
    func send(_ outgoing: Outgoing, to id: UUID, of userId: String) {
        let continuation = connections.withLock { $0[userId]?[id] }
        continuation?.yield(outgoing)
    }

    /// Removes a connection.
    func close(userId: String, id: UUID) {
        let continuation = connections.withLock { all -> AsyncStream<Outgoing>.Continuation? in
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
        for continuation in targets { continuation.yield(.frame(envelope.frame)) }
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

/// What a connection's writer is handed, in the order it must act on it.
enum Outgoing: Sendable {
    /// A frame to send as it is.
    case frame(String)
    /// A frame for a ticket's room; `messageId` when it carries a message, so it is sent once.
    case room(ticket: UUID, messageId: UUID?, frame: String)
    /// The connection is joining `ticket`'s room: hold its frames until the history is sent.
    case joining(UUID)
    /// The room's history (`message_history`), with the ids of the messages in it.
    case joined(UUID, history: String, messageIds: [UUID])
    /// The connection left the room (or could not join it).
    case left(UUID)
}
