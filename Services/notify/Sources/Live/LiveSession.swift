import Foundation
import GuildAuth
import GuildConcurrency
import GuildCore
import GuildLive
import GuildServiceKit
import Synchronization

/// What every live gateway shares: the token check, this replica's connections by user, the
/// ticket rooms and the tickets service that says who may join one.
///
/// `/ws` and `/socket.io/` are two transports of one session (``LiveSession``): a gateway only
/// carries frames in and out, so a feature of the live channel is written once, here.
struct LiveHub: Sendable {
    let verifier: TokenVerifier
    /// Opens once the revocations are loaded: no token is accepted before.
    let revocationsLoaded: ReadySignal
    let live: LiveConnections
    let rooms: TicketRooms
    let tickets: TicketsRoomClient

    /// How long a connection waits for a replica that has just started to load the revocations.
    static let revocationsWait: Duration = .seconds(5)

    /// The caller of a valid access token; nil for a missing, forged, expired or revoked one (and
    /// for any, while this replica does not yet know what was revoked).
    func identity(for token: String?) async -> Identity? {
        guard let token, !token.isEmpty else { return nil }
        guard await revocationsLoaded.wait(atMost: Self.revocationsWait) else { return nil }
        return try? await verifier.verify(token)
    }

    /// Opens the session of `identity` whose frames go to `outbox`: `connection_established`
    /// first, then the user's own events from every replica.
    func open(_ identity: Identity, outbox: ConnectionOutbox) -> LiveSession {
        let feed = LiveFeed(outbox: outbox)
        // Queued before the connection is registered, so nothing published meanwhile precedes it.
        feed.push(.frame(ServerFrame.text(ServerFrame.ConnectionEstablished(userId: identity.userId, role: identity.role.rawValue))))
        let id = live.open(identity, feed: feed)
        return LiveSession(identity: identity, id: id, feed: feed, hub: self)
    }
}

/// The live session on socket.io's default namespace: a CONNECT carries the access token in its
/// auth payload (`{"token": "..."}`), and each event is a client frame (its name the `type`, its
/// one object argument the other members).
struct LiveNamespace: SocketIONamespace {
    let hub: LiveHub

    func authenticate(_ auth: JSONValue?) async throws(SocketIOConnectRefusal) -> Identity {
        let token = auth?["token"]?.stringValue
        guard let identity = await hub.identity(for: token) else {
            throw SocketIOConnectRefusal(
                token == nil ? "a valid access token is required in the auth payload {\"token\": \"...\"}" : "the access token is not valid"
            )
        }
        return identity
    }

    func open(_ identity: Identity, outbox: ConnectionOutbox) -> any SocketIOSocket {
        hub.open(identity, outbox: outbox)
    }
}

/// One signed-in live connection, whatever carries it: it acts on the client's frames
/// (`ping`, `join_ticket`, `leave_ticket`, `authenticate`) and queues every answer on its outbox.
final class LiveSession: SocketIOSocket {
    /// Who is connected: what the latest token handed over says (its user never changes).
    var identity: Identity { current.withLock { $0 } }
    /// The connection's id among the user's connections on this replica.
    let id: UUID
    /// Where everything the connection sends goes.
    private let feed: LiveFeed
    private let hub: LiveHub
    private let userId: String
    private let current: Mutex<Identity>

    fileprivate init(identity: Identity, id: UUID, feed: LiveFeed, hub: LiveHub) {
        self.current = Mutex(identity)
        self.userId = identity.userId
        self.id = id
        self.feed = feed
        self.hub = hub
    }

    private var member: TicketRooms.Member { TicketRooms.Member(userId: userId, connection: id) }

    private func send(_ outgoing: Outgoing) { feed.push(outgoing) }

    /// A socket.io event: the frame it stands for, or an `error` (through its acknowledgement)
    /// when it is no frame: every frame takes one JSON object, and no binary data.
    func event(_ name: String, arguments: [JSONValue], attachments: [Data], ack: Int?) async {
        guard attachments.isEmpty else {
            return answer(ServerFrame.error(code: "bad_request", message: "binary payloads are not accepted for events"), ack: ack)
        }
        guard let frame = ClientFrame(event: name, payload: arguments.first) else {
            return answer(ServerFrame.error(code: "bad_request", message: "the event \(name) takes one object"), ack: ack)
        }
        await handle(frame, ack: ack)
    }

    func disconnect() async {
        await close()
    }

    /// Queues the answer `frame`, as an acknowledgement when `ack` is set.
    private func answer(_ frame: String, ack: Int?) { send(.answer(frame, ack: ack)) }

    /// Acts on one client frame; `ack` when the client asked for an acknowledgement (socket.io),
    /// which then carries the answer (or nothing, where `/ws` answers nothing).
    func handle(_ frame: ClientFrame, ack: Int? = nil) async {
        switch frame.type {
        case "ping":
            answer(ServerFrame.text(ServerFrame.Pong()), ack: ack)
        case "auth":
            answer(ServerFrame.error(code: "bad_request", message: "already authenticated"), ack: ack)
        case "authenticate":
            await authenticate(token: frame.token, ack: ack)
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

    /// `authenticate`: a fresh access token of the same user; the connection then lives as long
    /// as that token (and its session). Any other token ends the connection (`invalid_token`).
    private func authenticate(token: String?, ack: Int?) async {
        guard let fresh = await hub.identity(for: token), fresh.userId == userId else {
            return hub.live.end(id, reason: .invalidToken)
        }
        current.withLock { $0 = fresh }
        guard hub.live.reauthenticate(id, as: fresh) else { return }
        answer(ServerFrame.text(ServerFrame.Authenticated(expiresAt: fresh.expiresAt)), ack: ack)
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
            let history = ServerFrame.text(ServerFrame.MessageHistory(ticketId: ticket, messages: messages))
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
        hub.live.close(id: id)
        await hub.rooms.leaveAll(userId: userId, connection: id)
    }
}
