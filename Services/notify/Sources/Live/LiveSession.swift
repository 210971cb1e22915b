import Foundation
import GuildAuth
import GuildCore

/// What every live gateway shares: the token check, this replica's connections by user, the
/// ticket rooms and the tickets service that says who may join one.
///
/// `/ws` and `/socket.io/` are two transports of one session (``LiveSession``): a gateway only
/// carries frames in and out, so a feature of the live channel is written once, here.
struct LiveHub: Sendable {
    let verifier: TokenVerifier
    let live: LiveConnections
    let rooms: TicketRooms
    let tickets: TicketsRoomClient

    /// The caller of a valid access token; nil for a missing, forged, expired or revoked one.
    func identity(for token: String?) async -> Identity? {
        guard let token, !token.isEmpty else { return nil }
        return try? await verifier.verify(token)
    }

    /// Opens the session of `identity` whose frames go to `outbox`: `connection_established`
    /// first, then the user's own events from every replica.
    func open(_ identity: Identity, outbox: ConnectionOutbox) -> LiveSession {
        // Queued before the connection is registered, so nothing published meanwhile precedes it.
        outbox.push(.frame(ServerFrame.object(["type": "connection_established", "user_id": identity.userId, "role": identity.role.rawValue])))
        let id = live.open(userId: identity.userId, outbox: outbox)
        return LiveSession(identity: identity, id: id, outbox: outbox, hub: self)
    }
}

/// One signed-in live connection, whatever carries it: it acts on the client's frames
/// (`ping`, `join_ticket`, `leave_ticket`) and queues every answer on its outbox.
final class LiveSession: Sendable {
    /// Who is connected.
    let identity: Identity
    /// The connection's id among the user's connections on this replica.
    let id: UUID
    /// Where everything the connection sends waits.
    let outbox: ConnectionOutbox
    private let hub: LiveHub

    fileprivate init(identity: Identity, id: UUID, outbox: ConnectionOutbox, hub: LiveHub) {
        self.identity = identity
        self.id = id
        self.outbox = outbox
        self.hub = hub
    }

    private var member: TicketRooms.Member { TicketRooms.Member(userId: identity.userId, connection: id) }

    private func send(_ outgoing: Outgoing) { outbox.push(outgoing) }

    /// Queues the answer `frame`, as an acknowledgement when `ack` is set.
    private func answer(_ frame: String, ack: Int?) { send(.answer(frame, ack: ack)) }

    /// Acts on one client frame; `ack` when the client asked for an acknowledgement (socket.io),
    /// which then carries the answer (or nothing, where `/ws` answers nothing).
    func handle(_ frame: ClientFrame, ack: Int? = nil) async {
        switch frame.type {
        case "ping":
            answer(ServerFrame.object(["type": "pong"]), ack: ack)
        case "auth":
            answer(ServerFrame.error(code: "bad_request", message: "already authenticated"), ack: ack)
        case "join_ticket":
            await join(frame, ack: ack)
        case "leave_ticket":
            guard let ticket = frame.ticketId.flatMap(UUID.init(uuidString:)) else {
                return answer(ServerFrame.error(code: "bad_request", message: "leave_ticket needs a ticket_id"), ack: ack)
            }
            await hub.rooms.leave(ticket, member)
            send(.left(ticket))
            if let ack { send(.acknowledge(ack)) }
        default:
            answer(ServerFrame.error(code: "bad_request", message: "unknown frame type \(frame.type)"), ack: ack)
        }
    }

    /// `join_ticket`: the room's history, then its frames until `leave_ticket`.
    private func join(_ frame: ClientFrame, ack: Int?) async {
        guard let ticket = frame.ticketId.flatMap(UUID.init(uuidString:)) else {
            return answer(ServerFrame.error(code: "bad_request", message: "join_ticket needs the ticket_id of a ticket"), ack: ack)
        }
        var since: UUID?
        if let text = frame.since {
            guard let id = UUID(uuidString: text) else {
                return answer(ServerFrame.error(code: "bad_request", message: "since must be the id of a message"), ack: ack)
            }
            since = id
        }
        // In the room first, holding its frames, so nothing said while the history loads is missed.
        send(.joining(ticket))
        await hub.rooms.join(ticket, member)
        do {
            guard let messages = try await hub.tickets.history(of: ticket, for: identity, since: since) else {
                await hub.rooms.leave(ticket, member)
                send(.left(ticket))
                return answer(ServerFrame.error(code: "not_found", message: "no such ticket"), ack: ack)
            }
            let history = try GuildJSON.string(JSONValue.object([
                "type": .string("message_history"), "ticket_id": .string(ticket.uuidString.lowercased()), "messages": .array(messages),
            ]))
            let ids = messages.compactMap { $0["id"]?.stringValue.flatMap(UUID.init(uuidString:)) }
            send(.joined(ticket, history: history, messageIds: ids, ack: ack))
        } catch {
            await hub.rooms.leave(ticket, member)
            send(.left(ticket))
            answer(ServerFrame.error(code: "unavailable", message: "tickets cannot be reached; try again"), ack: ack)
        }
    }

    /// Ends the session: out of every room, and no longer among the user's connections. The
    /// outbox stays as it is (a socket.io socket may disconnect while its transport stays).
    func close() async {
        hub.live.close(userId: identity.userId, id: id)
        await hub.rooms.leaveAll(userId: identity.userId, connection: id)
    }
}
