import Foundation

/// What one connection's writer remembers: the rooms it is in, the frames held while a room's
/// history loads, and the messages it has sent per room, so each message is sent once.
///
/// It turns what is handed to a connection (``Outgoing``) into what the connection sends, in
/// order; its ``ConnectionOutbox`` runs it as each item arrives.
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
