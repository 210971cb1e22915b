import Foundation
import GuildAuth
import GuildCore
import GuildServiceKit
import Hummingbird
import HummingbirdWebSocket
import Logging

/// `GET /ws`: the live channel of a signed-in user.
///
/// The access token comes in `?token=` or, for clients that cannot put it in the URL, in a first
/// frame `{"type":"auth","token":"..."}` within ten seconds. Frames are JSON objects with a `type`.
struct WebSocketController: Sendable {
    let verifier: TokenVerifier
    let live: LiveConnections
    let rooms: TicketRooms
    let tickets: TicketsRoomClient

    func addRoutes(to router: Router<BasicWebSocketRequestContext>) {
        router.ws("/ws") { inbound, outbound, context in
            try await session(inbound: inbound, outbound: outbound, context: context)
        }
    }

    private func session(
        inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter,
        context: WebSocketRouterContext<BasicWebSocketRequestContext>
    ) async throws {
        var messages = inbound.messages(maxSize: 64 * 1024).makeAsyncIterator()
        var identity: Identity?
        if let token = context.request.uri.queryParameters["token"] {
            identity = try? await verifier.verify(String(token))
        } else {
            // A client that never authenticates is closed after ten seconds.
            let first = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await Task.sleep(for: .seconds(10))
                    try await outbound.close(.policyViolation, reason: "authentication timeout")
                }
                defer { group.cancelAll() }
                return try await messages.next()
            }
            if case .text(let text) = first, let frame = ClientFrame(text), frame.type == "auth", let token = frame.token {
                identity = try? await verifier.verify(token)
            }
        }
        guard let identity else {
            try await outbound.writeTextMessage(ServerFrame.error(code: "unauthorized", message: "a valid access token is required"))
            try await outbound.close(.policyViolation, reason: "unauthorized")
            return
        }

        let (connectionId, outgoing) = live.open(userId: identity.userId)
        let member = TicketRooms.Member(userId: identity.userId, connection: connectionId)
        let send: @Sendable (Outgoing) -> Void = { [live] in live.send($0, to: connectionId, of: identity.userId) }
        send(.frame(ServerFrame.object(["type": "connection_established", "user_id": identity.userId, "role": identity.role.rawValue])))

        try await withThrowingTaskGroup(of: Void.self) { group in
            // Everything this connection sends goes through one writer, in order.
            group.addTask {
                var writer = ConnectionWriter()
                for await item in outgoing {
                    for frame in writer.frames(for: item) { try? await outbound.writeTextMessage(frame) }
                }
            }
            while let message = try await messages.next() {
                guard case .text(let text) = message, let frame = ClientFrame(text) else {
                    send(.frame(ServerFrame.error(code: "bad_request", message: "frames are JSON objects with a type")))
                    continue
                }
                await handle(frame, identity: identity, member: member, send: send)
            }
            group.cancelAll()
        }
        await rooms.leaveAll(userId: identity.userId, connection: connectionId)
        live.close(userId: identity.userId, id: connectionId)
    }

    /// Acts on one client frame; every answer goes through `send`.
    func handle(_ frame: ClientFrame, identity: Identity, member: TicketRooms.Member, send: @Sendable (Outgoing) -> Void) async {
        switch frame.type {
        case "ping":
            send(.frame(ServerFrame.object(["type": "pong"])))
        case "auth":
            send(.frame(ServerFrame.error(code: "bad_request", message: "already authenticated")))
        case "join_ticket":
            guard let ticket = frame.ticketId.flatMap(UUID.init(uuidString:)) else {
                return send(.frame(ServerFrame.error(code: "bad_request", message: "join_ticket needs the ticket_id of a ticket")))
            }
            var since: UUID?
            if let text = frame.since {
                guard let id = UUID(uuidString: text) else {
                    return send(.frame(ServerFrame.error(code: "bad_request", message: "since must be the id of a message")))
                }
                since = id
            }
            // In the room first, holding its frames, so nothing said while the history loads is missed.
            send(.joining(ticket))
            await rooms.join(ticket, member)
            do {
                guard let messages = try await tickets.history(of: ticket, for: identity, since: since) else {
                    await rooms.leave(ticket, member)
                    send(.left(ticket))
                    return send(.frame(ServerFrame.error(code: "not_found", message: "no such ticket")))
                }
                let history = try GuildJSON.string(JSONValue.object([
                    "type": .string("message_history"), "ticket_id": .string(ticket.uuidString.lowercased()), "messages": .array(messages),
                ]))
                let ids = messages.compactMap { $0["id"]?.stringValue.flatMap(UUID.init(uuidString:)) }
                send(.joined(ticket, history: history, messageIds: ids))
            } catch {
                await rooms.leave(ticket, member)
                send(.left(ticket))
                send(.frame(ServerFrame.error(code: "unavailable", message: "tickets cannot be reached; try again")))
            }
        case "leave_ticket":
            guard let ticket = frame.ticketId.flatMap(UUID.init(uuidString:)) else {
                return send(.frame(ServerFrame.error(code: "bad_request", message: "leave_ticket needs a ticket_id")))
            }
            await rooms.leave(ticket, member)
            send(.left(ticket))
        default:
            send(.frame(ServerFrame.error(code: "bad_request", message: "unknown frame type \(frame.type)")))
        }
    }
}

/// What one connection's writer remembers: the rooms it is in, the frames held while a room's
/// history loads, and the messages it has sent per room, so each message is sent once.
struct ConnectionWriter {
    private struct Room {
        var loading = true
        var held: [(messageId: UUID?, frame: String)] = []
        var sent: Set<UUID> = []
    }
    private var rooms: [UUID: Room] = [:]

    /// The frames to write for `item`, in order.
    mutating func frames(for item: Outgoing) -> [String] {
        switch item {
        case .frame(let frame):
            return [frame]
        case .joining(let ticket):
            rooms[ticket] = Room()
            return []
        case .left(let ticket):
            rooms[ticket] = nil
            return []
        case .joined(let ticket, let history, let ids):
            guard var room = rooms[ticket] else { return [] }
            room.loading = false
            room.sent = Set(ids)
            var frames = [history]
            for (messageId, frame) in room.held where messageId.map({ room.sent.insert($0).inserted }) ?? true {
                frames.append(frame)
            }
            room.held = []
            rooms[ticket] = room
            return frames
        case .room(let ticket, let messageId, let frame):
            guard var room = rooms[ticket] else { return [] }
            defer { rooms[ticket] = room }
            if room.loading {
                if room.held.count < 1024 { room.held.append((messageId, frame)) }
                return []
            }
            if let messageId {
                guard room.sent.insert(messageId).inserted else { return [] }
                if room.sent.count > 10_000 { room.sent = [messageId] }
            }
            return [frame]
        }
    }
}

/// A frame from the client.
struct ClientFrame: Decodable {
    var type: String
    var token: String?
    var ticketId: String?
    /// `join_ticket`: only the messages after this one.
    var since: String?

    init?(_ text: String) {
        guard let frame = try? GuildJSON.decoder.decode(ClientFrame.self, from: Data(text.utf8)) else { return nil }
        self = frame
    }
}

/// Frames the server sends.
enum ServerFrame {
    /// A flat JSON object of strings.
    static func object(_ fields: [String: String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// `{"type":"error","code":...,"message":...}`.
    static func error(code: String, message: String) -> String {
        object(["type": "error", "code": code, "message": message])
    }
}
