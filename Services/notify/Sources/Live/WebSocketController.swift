import Foundation
import GuildAuth
import GuildCore
import GuildLive
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import ServiceLifecycle

/// `GET /ws`: the live channel of a signed-in user, as plain WebSocket frames.
///
/// The access token comes in `?token=` or, for clients that cannot put it in the URL, in a first
/// frame `{"type":"auth","token":"..."}` within ten seconds. Frames are JSON objects with a `type`,
/// acted on by the connection's ``LiveSession`` (the same core as `/socket.io/`).
///
/// Limits: a client frame (message) is at most 64 KiB, else the connection is closed with 1009;
/// a client that falls behind the outbox's bound is closed with 1013; a client that answers no
/// WebSocket ping is closed by the server's auto-ping.
struct WebSocketController: Sendable {
    let hub: LiveHub

    /// The largest frame (or message) a client may send.
    static let maxMessageSize = 64 * 1024

    func addRoutes(to router: Router<LiveWebSocketContext>) {
        router.ws("/ws") { inbound, outbound, context in
            // A stopping replica ends its connections (close code 1001) without waiting for the
            // clients: everything queued for them goes first (one that does not close is cut a
            // second into the stop, with every other connection: ServiceWatch.stopConnections).
            let outbox = ConnectionOutbox()
            try await withGracefulShutdownHandler {
                try await session(inbound: inbound, outbound: outbound, outbox: outbox, context: context)
            } onGracefulShutdown: {
                outbox.close(.shutdown)
            }
        }
    }

    private func session(
        inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter,
        outbox: ConnectionOutbox,
        context: WebSocketRouterContext<LiveWebSocketContext>
    ) async throws {
        var messages = inbound.messages(maxSize: Self.maxMessageSize).makeAsyncIterator()
        var identity: Identity?
        if let token = context.request.uri.queryParameters["token"] {
            identity = await hub.identity(for: String(token))
        } else {
            // A client that never authenticates is closed after ten seconds (or when the replica stops).
            let first = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await Task.sleep(for: .seconds(10))
                    try await outbound.close(.policyViolation, reason: "authentication timeout")
                }
                group.addTask {
                    guard let reason = await outbox.closed() else { return }
                    try await reason.close(outbound)
                }
                defer { group.cancelAll() }
                return try await messages.next()
            }
            if case .text(let text) = first, let frame = ClientFrame(text), frame.type == "auth" {
                identity = await hub.identity(for: frame.token)
            }
        }
        guard let identity else {
            try await outbound.writeTextMessage(ServerFrame.error(code: "unauthorized", message: "a valid access token is required"))
            try await outbound.close(.policyViolation, reason: "unauthorized")
            return
        }
        guard outbox.closeReason == nil else { return }

        let session = hub.open(identity, outbox: outbox)
        let channel = context.requestContext.channel
        await withTaskGroup(of: Void.self) { group in
            // Everything this connection sends goes through one writer, in order.
            group.addTask {
                await WebSocketPump.run(outbox, to: outbound, channel: channel) { delivery in
                    switch delivery {
                    case .frame(let text, _), .last(let text): [text]
                    case .acknowledgement, .packet: []
                    }
                }
            }
            do {
                while let message = try await messages.next() {
                    // One frame can exceed the limit on its own (the server reads frames up to
                    // LiveWebSocketContext.maxFrameSize; only a message's continuations are counted).
                    if message.size > Self.maxMessageSize {
                        try await outbound.close(.messageTooLarge, reason: "frames are at most 64 KiB")
                        break
                    }
                    guard case .text(let text) = message, let frame = ClientFrame(text) else {
                        outbox.push(frame: ServerFrame.error(code: "bad_request", message: "frames are JSON objects with a type"))
                        continue
                    }
                    await session.handle(frame)
                }
            } catch {
                context.logger.debug("WebSocket ended", metadata: ["error": "\(error)"])
            }
            outbox.close(.ended)
            group.cancelAll()
        }
        await session.close()
    }
}
