import Foundation
import GuildCore
import GuildServiceKit
import Hummingbird
import HummingbirdWebSocket
import NIOCore
import ServiceLifecycle
import Synchronization

/// `/socket.io/`: a live channel for socket.io clients (Engine.IO v4, Socket.IO v5, the default
/// namespace, whose application is the sessions' ``SocketIONamespace``).
///
/// Both transports of a stock client work: HTTP long-polling (`GET` waits for what is ready,
/// `POST` carries the client's packets), then the upgrade to a WebSocket, or a WebSocket from
/// the start. A session's requests must reach the replica that holds it: its sid starts with
/// the replica's id, and nginx routes on it.
public struct SocketIOGateway: Sendable {
    let sessions: EngineSessions

    public init(sessions: EngineSessions) {
        self.sessions = sessions
    }

    // MARK: HTTP long-polling

    /// `GET` and `POST /socket.io/` (public: the token travels in the CONNECT packet).
    public var endpoints: RouteCollection<GuildRequestContext> {
        RouteCollection(context: GuildRequestContext.self)
            .get(use: poll)
            .post(use: post)
    }

    /// The session a polling request names, checking the protocol version and the transport.
    private func polling(_ request: Request, creating: Bool) throws -> (EngineSession, created: Bool) {
        let query = request.uri.queryParameters
        guard query["EIO"] == "4" else { throw APIError.invalidField("EIO", "only Engine.IO v4 (EIO=4) is served") }
        guard query["transport"] == "polling" else {
            throw APIError.invalidField("transport", "plain HTTP requests use transport=polling; websocket needs an upgrade")
        }
        guard let sid = query["sid"] else {
            guard creating else { throw APIError.invalidField("sid", "a session id is required") }
            return (sessions.create(transport: .polling), true)
        }
        guard let session = sessions.session(sid) else { throw APIError.invalidField("sid", "unknown or closed session") }
        return (session, false)
    }

    /// `GET`: the handshake (no sid: the open packet), or a poll that answers with what is ready,
    /// waiting for it (at the latest the next ping, every 25 s).
    @Sendable func poll(request: Request, context: GuildRequestContext) async throws -> Response {
        let (session, created) = try polling(request, creating: true)
        if created { return Self.text(EngineIO.openPacket(sid: session.sid, upgrades: ["websocket"])) }
        try await admit(session.beginPoll(), session, "poll")
        defer { session.endPoll() }
        // A WebSocket is taking over: every poll meanwhile ends at once, so the client can send
        // the upgrade packet (a stock client waits for its poll to end first).
        if session.transport == .upgrading { return Self.text("6") }
        // A replica that stops ends its polls at once (the clients reconnect elsewhere).
        let next = await withGracefulShutdownHandler {
            await session.outbox.next()
        } onGracefulShutdown: {
            session.close(.shutdown)
        }
        switch next {
        case .deliveries(let deliveries) where deliveries.isEmpty:
            // Cut short (a WebSocket took over, or a newer poll): a no-op ends this one.
            return Self.text("6")
        case .deliveries(let deliveries):
            return Self.text(String(deliveries.flatMap(EngineIO.packets(for:)).joined(separator: String(EngineIO.separator))))
        case .closed:
            await sessions.finish(session)
            return Self.text("1")
        }
    }

    /// `POST`: the client's packets (at most ``EngineIO/maxPayload`` bytes), acted on in order.
    @Sendable func post(request: Request, context: GuildRequestContext) async throws -> Response {
        let (session, _) = try polling(request, creating: false)
        try await admit(session.beginPost(), session, "post")
        defer { session.endPost() }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: EngineIO.maxPayload)
        } catch {
            throw APIError.payloadTooLarge
        }
        for packet in String(buffer: body).split(separator: EngineIO.separator) {
            if let violation = await session.receive(packet) {
                await sessions.finish(session, reason: .protocolError)
                throw APIError.malformedBody(violation)
            }
        }
        return Self.text("ok")
    }

    /// Refuses a polling request that may not go ahead; overlapping requests end the session
    /// (as Engine.IO servers do: the client lost track of it).
    private func admit(_ admission: EngineSession.PollingAdmission, _ session: EngineSession, _ what: String) async throws {
        switch admission {
        case .admitted:
            return
        case .upgraded:
            throw APIError.invalidField("transport", "the session moved to a WebSocket")
        case .overlapping:
            await sessions.finish(session)
            throw APIError.invalidField("sid", "a \(what) of this session was already under way; the session is closed")
        }
    }

    private static func text(_ body: String) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "text/plain; charset=UTF-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: body))
        )
    }

    // MARK: WebSocket

    /// `GET /socket.io/?EIO=4&transport=websocket` with an upgrade: a new session, or (with `sid`)
    /// the upgrade of a polling session.
    public func addRoutes(to router: Router<LiveWebSocketContext>) {
        router.ws("/socket.io") { request, _ in
            let query = request.uri.queryParameters
            guard query["EIO"] == "4", query["transport"] == "websocket" else { return .dontUpgrade }
            if let sid = query["sid"] {
                guard let session = sessions.session(sid), !session.isClosed, session.transport == .polling else { return .dontUpgrade }
            }
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            let channel = context.requestContext.channel
            // A stopping replica ends its WebSockets without waiting for the clients: a session
            // the WebSocket carries sends what is queued, then the close (1001; a client that does
            // not close is cut a second into the stop, ServiceWatch.stopConnections); one still
            // probing is cut at once (its client goes on polling, and reconnects elsewhere).
            let carried = Mutex<EngineSession?>(nil)
            try await withGracefulShutdownHandler {
                var messages = inbound.messages(maxSize: EngineIO.maxPayload).makeAsyncIterator()
                if let sid = context.request.uri.queryParameters["sid"] {
                    guard let session = sessions.session(sid), session.beginUpgrade() else {
                        return try await outbound.close(.policyViolation, reason: "unknown session")
                    }
                    guard (try? await probe(session, messages: &messages, outbound: outbound)) == true else {
                        session.abandonUpgrade()
                        return
                    }
                    session.completeUpgrade()
                    carried.withLock { $0 = session }
                    await carry(session, messages: messages, outbound: outbound, channel: channel)
                } else {
                    let session = sessions.create(transport: .websocket)
                    carried.withLock { $0 = session }
                    try await outbound.writeTextMessage(EngineIO.openPacket(sid: session.sid, upgrades: []))
                    await carry(session, messages: messages, outbound: outbound, channel: channel)
                }
            } onGracefulShutdown: {
                if let session = carried.withLock({ $0 }) {
                    session.close(.shutdown)
                } else {
                    channel.close(promise: nil)
                }
            }
        }
    }

    /// The upgrade handshake: `2probe` → `3probe` (the pending poll is ended so the client can
    /// pause polling), then `5`. Each step within ten seconds.
    private func probe(
        _ session: EngineSession,
        messages: inout WebSocketInboundMessageStream.AsyncIterator,
        outbound: WebSocketOutboundWriter
    ) async throws -> Bool {
        guard case .text("2probe") = try await Self.next(&messages, within: .seconds(10), outbound: outbound) else { return false }
        try await outbound.writeTextMessage("3probe")
        session.outbox.releaseReader()
        guard case .text("5") = try await Self.next(&messages, within: .seconds(10), outbound: outbound) else { return false }
        return true
    }

    /// The next message; a client that sends none within `limit` is closed (and nil returned).
    private static func next(
        _ messages: inout WebSocketInboundMessageStream.AsyncIterator,
        within limit: Duration,
        outbound: WebSocketOutboundWriter
    ) async throws -> WebSocketMessage? {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await Task.sleep(for: limit)
                try await outbound.close(.policyViolation, reason: "upgrade timeout")
            }
            defer { group.cancelAll() }
            return try await messages.next()
        }
    }

    /// Runs a session on its WebSocket until either side ends it.
    private func carry(
        _ session: EngineSession,
        messages: WebSocketInboundMessageStream.AsyncIterator,
        outbound: WebSocketOutboundWriter,
        channel: any Channel
    ) async {
        var messages = messages
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await WebSocketPump.run(session.outbox, to: outbound, channel: channel, encode: EngineIO.packets(for:))
            }
            do {
                while !session.isClosed, let message = try await messages.next() {
                    guard message.size <= EngineIO.maxPayload else {
                        try await outbound.close(.messageTooLarge, reason: "messages are at most \(EngineIO.maxPayload) bytes")
                        break
                    }
                    // Text messages are Engine.IO packets, binary ones the attachments of binary events.
                    let violation = switch message {
                    case .text(let text): await session.receive(Substring(text))
                    case .binary(let bytes): await session.receive(attachment: Data(bytes.readableBytesView))
                    }
                    if violation != nil { break }
                }
            } catch {
                // Closed by the client, or a message over the limit (closed with 1009).
            }
            session.close(.ended)
        }
        await sessions.finish(session)
    }
}
