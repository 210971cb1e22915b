import Foundation
import GuildCore
import Synchronization

/// One Engine.IO session of a socket.io client: its transport (HTTP long-polling, upgraded to
/// WebSocket, or WebSocket from the start), its heartbeat, and the socket on the default
/// namespace, the application's ``SocketIOSocket`` once the client has connected.
///
/// Everything the client is sent waits in the session's ``ConnectionOutbox``, whichever
/// transport carries it: a poll takes what is ready (or waits for it), the WebSocket writer
/// takes it as the client reads. The socket's frames go there too, as events.
///
/// States: open and not connected (until CONNECT is accepted, at most
/// ``EngineIO/connectTimeout``), connecting (the application looks at the auth payload),
/// connected, and closed (``isClosed``; its last packets wait for the client). Transports:
/// ``Transport``. Every packet that breaks Engine.IO v4 or Socket.IO v5 closes the session
/// (``CloseReason/protocolError``).
public final class EngineSession: Sendable {
    public enum Transport: Sendable {
        /// HTTP long-polling.
        case polling
        /// Polling, while a WebSocket probes to take over.
        case upgrading
        /// A WebSocket, from the start or after an upgrade.
        case websocket
    }

    /// The session id, `<replica>.<random>` (nginx routes a session's requests by its prefix).
    public let sid: String
    /// What the client has yet to be sent.
    public let outbox = ConnectionOutbox()
    private let namespace: any SocketIONamespace

    private struct State {
        var transport: Transport
        var polling = false
        var posting = false
        var socket: (any SocketIOSocket)?
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
        var attachments: [Data] = []
        var bytes = 0
    }
    private let state: Mutex<State>

    /// A session on `transport` whose default namespace runs `namespace`.
    public init(sid: String, transport: Transport, namespace: any SocketIONamespace) {
        self.sid = sid
        self.namespace = namespace
        let now = ContinuousClock.now
        state = Mutex(State(transport: transport, pingDue: now + EngineIO.pingInterval, connectDue: now + EngineIO.connectTimeout))
    }

    /// The transport in use.
    public var transport: Transport { state.withLock { $0.transport } }

    /// Whether the session has ended.
    public var isClosed: Bool { outbox.closeReason != nil }

    // MARK: Transport

    /// Whether a polling request may go ahead.
    public enum PollingAdmission: Sendable {
        /// It may.
        case admitted
        /// The session moved to a WebSocket: polling is over (the session goes on).
        case upgraded
        /// A request of the same kind is under way: the client broke the protocol.
        case overlapping
    }

    /// Marks a poll (`GET`) under way, if it may go ahead.
    public func beginPoll() -> PollingAdmission {
        state.withLock { state in
            guard state.transport != .websocket else { return .upgraded }
            guard !state.polling else { return .overlapping }
            state.polling = true
            return .admitted
        }
    }

    public func endPoll() { state.withLock { $0.polling = false } }

    /// Marks a polling `POST` under way, if it may go ahead.
    public func beginPost() -> PollingAdmission {
        state.withLock { state in
            guard state.transport != .websocket else { return .upgraded }
            guard !state.posting else { return .overlapping }
            state.posting = true
            return .admitted
        }
    }

    public func endPost() { state.withLock { $0.posting = false } }

    /// A WebSocket starts probing to take over from polling; false when the session is not polling.
    public func beginUpgrade() -> Bool {
        guard !isClosed else { return false }
        return state.withLock { state in
            guard state.transport == .polling else { return false }
            state.transport = .upgrading
            return true
        }
    }

    /// The probe succeeded and the client sent the upgrade packet: the WebSocket carries everything now.
    public func completeUpgrade() { state.withLock { $0.transport = .websocket } }

    /// The probing WebSocket went away before the upgrade: polling goes on.
    public func abandonUpgrade() {
        state.withLock { state in
            if state.transport == .upgrading { state.transport = .polling }
        }
    }

    // MARK: Packets from the client

    /// Acts on one Engine.IO packet from the client (text: a polling packet or a WebSocket text
    /// message). A packet that breaks the protocol closes the session, as the specifications
    /// say; what it broke is returned (a polling POST answers it with a 400), nil when all is well.
    public func receive(_ packet: Substring) async -> String? {
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
            return await receive(message: packet.dropFirst())
        case "6":
            break
        case "b":
            // A binary message over polling (base64).
            guard let bytes = Data(base64Encoded: String(packet.dropFirst())) else { return violation("a binary packet that is not base64") }
            return await receive(attachment: bytes)
        default:
            // `5` (upgrade) belongs to the probing WebSocket; anything else is no Engine.IO packet.
            return violation("an unknown Engine.IO packet type \(type)")
        }
        return nil
    }

    /// Acts on one binary message: an attachment of the binary packet that awaits them. The
    /// packet is acted on once its last attachment has arrived.
    public func receive(attachment bytes: Data) async -> String? {
        enum Progress { case unexpected, tooLarge, waiting, complete(PendingBinary) }
        let progress = state.withLock { state -> Progress in
            guard var pending = state.binary else { return .unexpected }
            pending.attachments.append(bytes)
            pending.bytes += bytes.count
            guard pending.bytes <= EngineIO.maxPayload else { return .tooLarge }
            guard pending.attachments.count == pending.packet.attachments else {
                state.binary = pending
                return .waiting
            }
            state.binary = nil
            return .complete(pending)
        }
        switch progress {
        case .unexpected: return violation("binary data when no binary packet awaits attachments")
        case .tooLarge: return violation("attachments of more than \(EngineIO.maxPayload) bytes in all")
        case .waiting: return nil
        case .complete(let pending):
            // An acknowledgement of the client's: the server asks for none, so it answers nothing.
            guard pending.packet.kind == .binaryEvent, let socket = state.withLock({ $0.socket }), let event = pending.packet.event else { return nil }
            await socket.event(event.name, arguments: event.arguments, attachments: pending.attachments, ack: pending.packet.id)
            return nil
        }
    }

    /// Acts on one Socket.IO packet.
    private func receive(message: Substring) async -> String? {
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
            await connect(auth: packet.payload)
        case .disconnect:
            // The client left the namespace; the session waits for a new CONNECT as at its start.
            let socket = state.withLock { state -> (any SocketIOSocket)? in
                defer {
                    state.socket = nil
                    state.connectDue = .now + EngineIO.connectTimeout
                }
                return state.socket
            }
            await socket?.disconnect()
        case .event:
            guard let socket = state.withLock({ $0.socket }) else { return violation("an EVENT before CONNECT") }
            guard let event = packet.event else { return violation("an EVENT whose payload is not [\"name\", ...]") }
            await socket.event(event.name, arguments: event.arguments, attachments: [], ack: packet.id)
        case .binaryEvent, .binaryAck:
            guard connected else { return violation("a binary packet before CONNECT") }
            if packet.kind == .binaryEvent, packet.event == nil { return violation("a BINARY_EVENT whose payload is not [\"name\", ...]") }
            guard (1...SocketIOPacket.maxAttachments).contains(packet.attachments) else {
                return violation("a binary packet with \(packet.attachments) attachments (1 to \(SocketIOPacket.maxAttachments))")
            }
            guard packet.placeholders.allSatisfy({ (0..<packet.attachments).contains($0) }) else {
                return violation("a binary packet whose placeholders name attachments it does not announce")
            }
            state.withLock { $0.binary = PendingBinary(packet: packet) }
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

    /// Connects the socket of the default namespace: `40{"sid":...}` when the application
    /// accepts the auth payload, `44{"message":...}` (and no events) otherwise.
    private func connect(auth: JSONValue?) async {
        let proceed = state.withLock { state in
            guard state.socket == nil, !state.connecting else { return false }
            state.connecting = true
            return true
        }
        guard proceed else {
            return outbox.push(packet: "4" + SocketIOPacket.connectError("already connected"))
        }
        guard let socket = await open(namespace, auth: auth) else {
            return state.withLock { $0.connecting = false }
        }
        state.withLock { state in
            state.socket = socket
            state.connecting = false
            state.connectDue = nil
        }
        // Closed meanwhile: the socket must not stay among the application's.
        if isClosed { await finish() }
    }

    /// The application's socket for a CONNECT with `auth`, its answer queued first; nil (and
    /// CONNECT_ERROR queued) when the application refuses it.
    private func open<Namespace: SocketIONamespace>(_ namespace: Namespace, auth: JSONValue?) async -> (any SocketIOSocket)? {
        let credentials: Namespace.Credentials
        do {
            credentials = try await namespace.authenticate(auth)
        } catch {
            outbox.push(packet: "4" + SocketIOPacket.connectError(error.message))
            return nil
        }
        outbox.push(packet: "4" + SocketIOPacket.connected(socketId: EngineIO.makeId()))
        return namespace.open(credentials, outbox: outbox)
    }

    // MARK: Lifetime

    /// Checks the heartbeat at `now`: sends a ping when one is due, closes a session whose
    /// client missed its pong or never connected. Returns whether the session has ended.
    public func tick(now: ContinuousClock.Instant) -> Bool {
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
    public func closed(before instant: ContinuousClock.Instant) -> Bool {
        state.withLock { $0.closedAt.map { $0 < instant } ?? false }
    }

    /// Ends the session: whatever waits for the client ends with `reason` (the first reason given
    /// is kept). ``finish()`` then tells the application.
    public func close(_ reason: ConnectionOutbox.CloseReason) {
        outbox.close(reason)
    }

    /// Tells the application a closed session's socket is gone (once).
    public func finish() async {
        let socket = state.withLock { state -> (any SocketIOSocket)? in
            defer { state.socket = nil }
            return state.socket
        }
        await socket?.disconnect()
    }
}
