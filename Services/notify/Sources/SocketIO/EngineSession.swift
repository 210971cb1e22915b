import Foundation
import GuildCore
import Synchronization

/// One Engine.IO session of a socket.io client: its transport (HTTP long-polling, upgraded to
/// WebSocket, or WebSocket from the start), its heartbeat, and the socket on the default
/// namespace, a ``LiveSession`` once the client has connected with a valid token.
///
/// Everything the client is sent waits in the session's ``ConnectionOutbox``, whichever
/// transport carries it: a poll takes what is ready (or waits for it), the WebSocket writer
/// takes it as the client reads. The socket's frames go there too, as events.
final class EngineSession: Sendable {
    enum Transport: Sendable {
        /// HTTP long-polling.
        case polling
        /// Polling, while a WebSocket probes to take over.
        case upgrading
        /// A WebSocket, from the start or after an upgrade.
        case websocket
    }

    /// The session id, `<replica>.<random>` (nginx routes a session's requests by its prefix).
    let sid: String
    /// What the client has yet to be sent.
    let outbox = ConnectionOutbox()

    private struct State {
        var transport: Transport
        var polling = false
        var posting = false
        var socket: LiveSession?
        var connecting = false
        var pingDue: ContinuousClock.Instant
        var pongDue: ContinuousClock.Instant?
        var connectDue: ContinuousClock.Instant?
        var closedAt: ContinuousClock.Instant?
        var binary: PendingBinary?
    }

    /// A binary packet waiting for its attachments.
    private struct PendingBinary {
        var packet: SocketIOPacket
        var remaining: Int
    }
    private let state: Mutex<State>

    init(sid: String, transport: Transport) {
        self.sid = sid
        let now = ContinuousClock.now
        state = Mutex(State(transport: transport, pingDue: now + EngineIO.pingInterval, connectDue: now + EngineIO.connectTimeout))
    }

    /// The transport in use.
    var transport: Transport { state.withLock { $0.transport } }

    /// Whether the session has ended.
    var isClosed: Bool { outbox.closeReason != nil }

    // MARK: Transport

    /// Whether a polling request may go ahead.
    enum PollingAdmission {
        /// It may.
        case admitted
        /// The session moved to a WebSocket: polling is over (the session goes on).
        case upgraded
        /// A request of the same kind is under way: the client broke the protocol.
        case overlapping
    }

    /// Marks a poll (`GET`) under way, if it may go ahead.
    func beginPoll() -> PollingAdmission {
        state.withLock { state in
            guard state.transport != .websocket else { return .upgraded }
            guard !state.polling else { return .overlapping }
            state.polling = true
            return .admitted
        }
    }

    func endPoll() { state.withLock { $0.polling = false } }

    /// Marks a polling `POST` under way, if it may go ahead.
    func beginPost() -> PollingAdmission {
        state.withLock { state in
            guard state.transport != .websocket else { return .upgraded }
            guard !state.posting else { return .overlapping }
            state.posting = true
            return .admitted
        }
    }

    func endPost() { state.withLock { $0.posting = false } }

    /// A WebSocket starts probing to take over from polling; false when the session is not polling.
    func beginUpgrade() -> Bool {
        guard !isClosed else { return false }
        return state.withLock { state in
            guard state.transport == .polling else { return false }
            state.transport = .upgrading
            return true
        }
    }

    /// The probe succeeded and the client sent the upgrade packet: the WebSocket carries everything now.
    func completeUpgrade() { state.withLock { $0.transport = .websocket } }

    /// The probing WebSocket went away before the upgrade: polling goes on.
    func abandonUpgrade() {
        state.withLock { state in
            if state.transport == .upgrading { state.transport = .polling }
        }
    }

    // MARK: Packets from the client

    /// Acts on one Engine.IO packet from the client (text: a polling packet or a WebSocket text
    /// message). A packet that breaks the protocol closes the session, as the specifications
    /// say; what it broke is returned (a polling POST answers it with a 400), nil when all is well.
    func receive(_ packet: Substring, hub: LiveHub) async -> String? {
        guard let type = packet.first else { return violation("an empty Engine.IO packet") }
        switch type {
        case "1":
            close(.ended)
        case "2":
            // Engine.IO v3 clients ping the server; answered in kind.
            outbox.push(packet: "3" + packet.dropFirst())
        case "3":
            state.withLock { state in
                state.pongDue = nil
                state.pingDue = .now + EngineIO.pingInterval
            }
        case "4":
            return await receive(message: packet.dropFirst(), hub: hub)
        case "6":
            break
        case "b":
            // A binary message over polling (base64).
            guard let bytes = Data(base64Encoded: String(packet.dropFirst())) else { return violation("a binary packet that is not base64") }
            return receive(attachment: bytes.count)
        default:
            // `5` (upgrade) belongs to the probing WebSocket; anything else is no Engine.IO packet.
            return violation("an unknown Engine.IO packet type \(type)")
        }
        return nil
    }

    /// Acts on one binary message (an attachment of a binary event) of `size` bytes.
    func receive(attachment size: Int) -> String? {
        let complete = state.withLock { state -> SocketIOPacket?? in
            guard var pending = state.binary else { return .none }
            pending.remaining -= 1
            state.binary = pending.remaining > 0 ? pending : nil
            return .some(pending.remaining > 0 ? nil : pending.packet)
        }
        switch complete {
        case .none: return violation("binary data when no binary packet awaits attachments")
        case .some(nil): return nil
        case .some(let packet?):
            // Every event takes JSON objects: a binary one is refused (its ack still answered).
            if packet.kind == .binaryEvent, state.withLock({ $0.socket != nil }) {
                refuse("binary payloads are not accepted for events", ack: packet.id)
            }
            return nil
        }
    }

    /// Acts on one Socket.IO packet.
    private func receive(message: Substring, hub: LiveHub) async -> String? {
        guard let packet = SocketIOPacket(parsing: message) else { return violation("a packet that is not Socket.IO v5") }
        if state.withLock({ $0.binary != nil }) { return violation("a text packet while a binary packet awaits its attachments") }
        let connected = state.withLock { $0.socket != nil || $0.connecting }
        guard packet.namespace == "/" else {
            guard packet.kind == .connect else { return violation("a packet for the namespace \(packet.namespace), not connected") }
            outbox.push(packet: "4" + SocketIOPacket.connectError("Invalid namespace", namespace: packet.namespace))
            return nil
        }
        switch packet.kind {
        case .connect:
            guard !connected else { return violation("a CONNECT to a namespace already connected") }
            await connect(token: packet.payload?["token"]?.stringValue, hub: hub)
        case .disconnect:
            let socket = state.withLock { state -> LiveSession? in
                defer {
                    state.socket = nil
                    state.connectDue = .now + EngineIO.connectTimeout
                }
                return state.socket
            }
            await socket?.close()
        case .event:
            guard let socket = state.withLock({ $0.socket }) else { return violation("an EVENT before CONNECT") }
            guard case .array(let arguments)? = packet.payload, case .string(let name)? = arguments.first else {
                return violation("an EVENT whose payload is not [\"name\", ...]")
            }
            guard let frame = ClientFrame(event: name, payload: arguments.dropFirst().first) else {
                refuse("the event \(name) takes one object", ack: packet.id)
                return nil
            }
            await socket.handle(frame, ack: packet.id)
        case .binaryEvent, .binaryAck:
            guard connected else { return violation("a binary packet before CONNECT") }
            if packet.kind == .binaryEvent {
                guard case .array(let arguments)? = packet.payload, case .string? = arguments.first else {
                    return violation("a BINARY_EVENT whose payload is not [\"name\", ...]")
                }
            }
            guard (1...SocketIOPacket.maxAttachments).contains(packet.attachments) else {
                return violation("a binary packet with \(packet.attachments) attachments (1 to \(SocketIOPacket.maxAttachments))")
            }
            state.withLock { $0.binary = PendingBinary(packet: packet, remaining: packet.attachments) }
        case .ack:
            // The server asks for no acknowledgements: an ACK answers nothing and is dropped.
            break
        case .connectError:
            return violation("a CONNECT_ERROR, which only the server sends")
        }
        return nil
    }

    /// Closes the session for a packet that broke the protocol; returns what was broken.
    private func violation(_ what: String) -> String {
        close(.protocolError)
        return "the session is closed: \(what)"
    }

    /// Connects the socket of the default namespace: `40{"sid":...}` and `connection_established`
    /// for a valid token, `44{"message":...}` (and no events) otherwise.
    private func connect(token: String?, hub: LiveHub) async {
        let proceed = state.withLock { state in
            guard state.socket == nil, !state.connecting else { return false }
            state.connecting = true
            return true
        }
        guard proceed else {
            return outbox.push(packet: "4" + SocketIOPacket.connectError("already connected"))
        }
        guard let identity = await hub.identity(for: token) else {
            state.withLock { $0.connecting = false }
            let message = token == nil ? "a valid access token is required in the auth payload {\"token\": \"...\"}" : "the access token is not valid"
            return outbox.push(packet: "4" + SocketIOPacket.connectError(message))
        }
        outbox.push(packet: "4" + SocketIOPacket.connected(socketId: EngineIO.makeId()))
        let socket = hub.open(identity, outbox: outbox)
        state.withLock { state in
            state.socket = socket
            state.connecting = false
            state.connectDue = nil
        }
        // Closed meanwhile: the socket must not stay among the user's connections.
        if isClosed { await finish() }
    }

    /// Sends an `error` event (or acknowledgement) for a packet that cannot be acted on.
    private func refuse(_ message: String, ack: Int?) {
        guard state.withLock({ $0.socket != nil }) else { return }
        outbox.push(.answer(ServerFrame.error(code: "bad_request", message: message), ack: ack))
    }

    // MARK: Lifetime

    /// Checks the heartbeat at `now`: sends a ping when one is due, closes a session whose
    /// client missed its pong or never connected. Returns whether the session has ended.
    func tick(now: ContinuousClock.Instant) -> Bool {
        if isClosed {
            state.withLock { state in
                if state.closedAt == nil { state.closedAt = now }
            }
            return true
        }
        enum Action { case none, ping, close(ConnectionOutbox.CloseReason) }
        let action = state.withLock { state -> Action in
            if let pongDue = state.pongDue, now >= pongDue { return .close(.pingTimeout) }
            if let connectDue = state.connectDue, now >= connectDue, !state.connecting { return .close(.notAuthenticated) }
            guard state.pongDue == nil, now >= state.pingDue else { return .none }
            state.pongDue = now + EngineIO.pingTimeout
            return .ping
        }
        switch action {
        case .none: return false
        case .ping:
            outbox.push(packet: "2")
            return false
        case .close(let reason):
            close(reason)
            state.withLock { $0.closedAt = now }
            return true
        }
    }

    /// Whether the heartbeat saw the session closed before `instant`.
    func closed(before instant: ContinuousClock.Instant) -> Bool {
        state.withLock { $0.closedAt.map { $0 < instant } ?? false }
    }

    /// Ends the session: whatever waits for the client ends with `reason` (the first reason given
    /// is kept). ``finish()`` then takes the socket out of the rooms.
    func close(_ reason: ConnectionOutbox.CloseReason) {
        outbox.close(reason)
    }

    /// Takes a closed session's socket out of the rooms and the user's connections (once).
    func finish() async {
        let socket = state.withLock { state -> LiveSession? in
            defer { state.socket = nil }
            return state.socket
        }
        await socket?.close()
    }
}
