import Foundation
import GuildAuth
import GuildLive
import Synchronization

/// One live connection's way out: its ``ConnectionWriter`` (the rooms it is in) in front of its
/// transport's ``ConnectionOutbox``. Everything for the connection goes through here, in order.
final class LiveFeed: Sendable {
    /// Where the transport takes what the connection sends.
    let outbox: ConnectionOutbox
    private let writer = Mutex(ConnectionWriter())

    init(outbox: ConnectionOutbox) {
        self.outbox = outbox
    }

    /// Queues what `outgoing` asks for (the writer's state and the outbox change together, so
    /// two producers cannot interleave a room's history and its frames).
    func push(_ outgoing: Outgoing) {
        writer.withLock { writer in outbox.push(writer.deliveries(for: outgoing)) }
    }

    /// Ends the connection because its session ended: `session_ended {reason}` is its last frame.
    func end(_ reason: SessionEndReason) {
        outbox.end(lastFrame: ServerFrame.text(ServerFrame.SessionEnded(reason: reason.rawValue)))
    }
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

/// What one connection's writer remembers: the rooms it is in, the frames held while a room's
/// history loads, and the messages it has sent per room, so each message is sent once.
///
/// It turns what is handed to a connection (``Outgoing``) into what the connection sends, in
/// order; its ``LiveFeed`` runs it as each item arrives.
struct ConnectionWriter {
    private struct Room {
        var loading = true
        var held: [(messageId: UUID?, frame: String)] = []
        var sent: Set<UUID> = []
    }
    private var rooms: [UUID: Room] = [:]

    /// Frames held per room while its history loads; more are dropped (the history, loaded
    /// after the room was joined, has them).
    static let maxHeld = 1024
    /// Message ids remembered per room to send each once; past this the memory starts again.
    static let maxRemembered = 10_000

    /// What to send for `item`, in order.
    mutating func deliveries(for item: Outgoing) -> [ConnectionOutbox.Delivery] {
        switch item {
        case .frame(let frame):
            return [.frame(frame, ack: nil)]
        case .answer(let frame, let ack):
            return [.frame(frame, ack: ack)]
        case .acknowledge(let ack):
            return [.acknowledgement(ack)]
        case .joining(let ticket):
            rooms[ticket] = Room()
            return []
        case .left(let ticket):
            rooms[ticket] = nil
            return []
        case .joined(let ticket, let history, let ids, let ack):
            guard var room = rooms[ticket] else { return [] }
            room.loading = false
            room.sent = Set(ids)
            var deliveries: [ConnectionOutbox.Delivery] = [.frame(history, ack: ack)]
            for (messageId, frame) in room.held where messageId.map({ room.sent.insert($0).inserted }) ?? true {
                deliveries.append(.frame(frame, ack: nil))
            }
            room.held = []
            rooms[ticket] = room
            return deliveries
        case .room(let ticket, let messageId, let frame):
            guard var room = rooms[ticket] else { return [] }
            defer { rooms[ticket] = room }
            if room.loading {
                if room.held.count < Self.maxHeld { room.held.append((messageId, frame)) }
                return []
            }
            if let messageId {
                guard room.sent.insert(messageId).inserted else { return [] }
                if room.sent.count > Self.maxRemembered { room.sent = [messageId] }
            }
            return [.frame(frame, ack: nil)]
        }
    }
}
