import Foundation
import GuildCore
import GuildRedis
import Logging
import Synchronization

/// The live connections open on this replica, by user, whatever their transport (`/ws`, or
/// socket.io over polling or WebSocket).
///
/// Frames for a user are published on one Redis channel; every replica's subscriber hands them
/// to ``deliver(_:)``, so a user's events reach all of their connections, on any replica. Each
/// connection's ``ConnectionOutbox`` takes them without waiting, in order, and bounded.
final class LiveConnections: Sendable {
    /// The pub/sub channel that carries frames for users.
    static let channel = "guildhall:notify:live"

    private let connections = Mutex<[String: [UUID: ConnectionOutbox]]>([:])

    /// Registers `outbox` as a connection of `userId`; what is for the connection is queued there.
    func open(userId: String, outbox: ConnectionOutbox) -> UUID {
        let id = UUID()
        connections.withLock { $0[userId, default: [:]][id] = outbox }
        return id
    }

    /// Queues `outgoing` on one connection of `userId` (if it is still open here).
    func send(_ outgoing: Outgoing, to id: UUID, of userId: String) {
        let outbox = connections.withLock { $0[userId]?[id] }
        outbox?.push(outgoing)
    }

    /// Removes a connection (its outbox is its transport's to close).
    func close(userId: String, id: UUID) {
        connections.withLock { all in
            all[userId]?.removeValue(forKey: id)
            if all[userId]?.isEmpty == true { all[userId] = nil }
        }
    }

    /// How many connections are open here.
    var count: Int { connections.withLock { $0.values.reduce(0) { $0 + $1.count } } }

    /// The user id that addresses every connection (a broadcast).
    static let everyone = "*"

    /// Hands a message from the channel to the user's local connections (or all of them).
    func deliver(_ message: RedisMessage) {
        guard let envelope = try? GuildJSON.decoder.decode(LiveFrame.self, from: Data(message.payload.utf8)) else { return }
        let targets = connections.withLock { all in
            envelope.userId == Self.everyone ? all.values.flatMap(\.values) : Array((all[envelope.userId] ?? [:]).values)
        }
        for outbox in targets { outbox.push(.frame(envelope.frame)) }
    }

    /// Publishes `frame` to every connection of every user, on every replica.
    static func publishToEveryone(frame: String, redis: RedisClient) async throws {
        try await publish(frame: frame, to: everyone, redis: redis)
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
    /// The answer to a client's frame; `ack` when the client asked for an acknowledgement
    /// (socket.io), which then carries the answer.
    case answer(String, ack: Int?)
    /// An acknowledgement with nothing to carry (socket.io; `/ws` sends nothing).
    case acknowledge(Int)
    /// A frame for a ticket's room; `messageId` when it carries a message, so it is sent once.
    case room(ticket: UUID, messageId: UUID?, frame: String)
    /// The connection is joining `ticket`'s room: hold its frames until the history is sent.
    case joining(UUID)
    /// The room's history (`message_history`), with the ids of the messages in it; `ack` as for ``answer(_:ack:)``.
    case joined(UUID, history: String, messageIds: [UUID], ack: Int?)
    /// The connection left the room (or could not join it).
    case left(UUID)
}
