import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The request context of notify's WebSocket upgrades (`/ws`, `/socket.io/`): Hummingbird's,
/// plus the connection's channel, so a connection whose client stopped reading can be cut.
struct LiveWebSocketContext: RequestContext, WebSocketRequestContext {
    var coreContext: CoreRequestContextStorage
    let webSocket: WebSocketHandlerReference<Self>
    /// The connection's channel.
    let channel: any Channel

    /// The largest frame the server reads at all (past it, the frame decoder closes the
    /// connection with 1009 at once). Each gateway closes a connection whose message exceeds its
    /// own, smaller limit with 1009 and a reason: `/ws` 64 KiB, socket.io its maxPayload (1 MB).
    static let maxFrameSize = 1 << 20

    init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
        self.channel = source.channel
    }
}

/// Carries a connection's outbox to its WebSocket: writes what is ready, in order, as fast as
/// the client reads, and closes the WebSocket when the outbox closes.
///
/// A client that reads nothing leaves the writer suspended behind a full socket; the outbox
/// then fills up and closes (``ConnectionOutbox/CloseReason/overflow``), which is watched
/// beside the writer: the writer is stopped, a close frame is tried for a moment, and the
/// connection is cut, so nothing it holds stays in memory.
enum WebSocketPump {
    /// How long a close frame may take to be written before the connection is cut.
    static let closeGrace: Duration = .seconds(2)
    /// Deliveries taken from the outbox at a time (the rest still count against its bound).
    static let batch = 64

    /// Runs until the outbox closes (and the WebSocket is closed) or the task is cancelled.
    /// `encode` turns a delivery into the text frame of the transport, or nil to skip it.
    static func run(
        _ outbox: ConnectionOutbox,
        to outbound: WebSocketOutboundWriter,
        channel: any Channel,
        encode: @escaping @Sendable (ConnectionOutbox.Delivery) -> String?
    ) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while case .deliveries(let deliveries) = await outbox.next(upTo: batch), !Task.isCancelled {
                    for delivery in deliveries {
                        guard let text = encode(delivery) else { continue }
                        do { try await outbound.writeTextMessage(text) } catch { return }
                    }
                }
            }
            let reason = await outbox.closed()
            group.cancelAll()
            guard let reason else { return }
            await close(outbound, channel: channel, for: reason)
        }
    }

    /// Sends the close frame for `reason`; a connection that cannot take it in time (or whose
    /// client is gone or not reading) is cut.
    static func close(_ outbound: WebSocketOutboundWriter, channel: any Channel, for reason: ConnectionOutbox.CloseReason) async {
        let written = await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await reason.close(outbound)) != nil }
            group.addTask {
                try? await Task.sleep(for: closeGrace)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if !written || reason == .overflow || reason == .pingTimeout {
            try? await channel.close()
        }
    }
}

extension ConnectionOutbox.CloseReason {
    /// Sends the WebSocket close frame a connection closed for this gets.
    func close(_ outbound: WebSocketOutboundWriter) async throws {
        switch self {
        // 1013 "try again later": reconnecting (and catching up with `since`) is the remedy.
        case .overflow: try await outbound.close(.unknown(1013), reason: "outgoing queue full: the client does not read fast enough")
        case .pingTimeout: try await outbound.close(.policyViolation, reason: "ping timeout")
        case .notAuthenticated: try await outbound.close(.policyViolation, reason: "unauthorized")
        case .shutdown: try await outbound.close(.goingAway, reason: "server shutting down")
        case .ended: try await outbound.close(.normalClosure, reason: nil)
        }
    }
}
