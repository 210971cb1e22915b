import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The request context of live WebSocket upgrades (a plain WebSocket gateway, `/socket.io/`):
/// Hummingbird's, plus the connection's channel, so a connection whose client stopped reading
/// can be cut.
public struct LiveWebSocketContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>
    /// The connection's channel.
    public let channel: any Channel

    /// The largest frame the server reads at all (past it, the frame decoder closes the
    /// connection with 1009 at once). Each gateway closes a connection whose message exceeds its
    /// own, smaller limit with 1009 and a reason (socket.io: its maxPayload, 1 MB).
    public static let maxFrameSize = 1 << 20

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
        self.channel = source.channel
    }
}

/// Carries a connection's outbox to its WebSocket: writes what is ready, in order, as fast as
/// the client reads, and closes the WebSocket when the outbox closes.
///
/// An outbox closed because its session ended (or the replica stops) is written out first, so
/// the client gets its last frames (the one saying why) before the close frame, within
/// ``closeGrace``. A client that reads nothing leaves the writer suspended behind a full
/// socket; the outbox then fills up and closes (``ConnectionOutbox/CloseReason/overflow``),
/// which is watched beside the writer: the writer is stopped, a close frame is tried for a
/// moment, and the connection is cut, so nothing it holds stays in memory.
public enum WebSocketPump {
    /// How long the last frames and the close frame may take to be written before the connection is cut.
    public static let closeGrace: Duration = .seconds(2)
    /// Deliveries taken from the outbox at a time (the rest still count against its bound).
    public static let batch = 64

    private enum Ending {
        /// The writer sent everything, up to the outbox's close.
        case drained(ConnectionOutbox.CloseReason)
        /// The writer stopped: the WebSocket failed, or the task was cancelled.
        case stopped
        /// The outbox closed for a client that does not read or answer (an overflow, a missed
        /// ping): what is left is not waited for.
        case abandoned(ConnectionOutbox.CloseReason)
        /// The outbox closed and its last frames were not written within ``closeGrace``.
        case timedOut
    }

    /// Runs until the outbox closes (and the WebSocket is closed) or the task is cancelled.
    /// `encode` turns a delivery into the text frames of the transport (none to skip it).
    public static func run(
        _ outbox: ConnectionOutbox,
        to outbound: WebSocketOutboundWriter,
        channel: any Channel,
        encode: @escaping @Sendable (ConnectionOutbox.Delivery) -> [String]
    ) async {
        let ending = await withTaskGroup(of: Ending.self) { group in
            group.addTask {
                while true {
                    switch await outbox.next(upTo: batch) {
                    case .closed(let reason):
                        return .drained(reason)
                    case .deliveries(let deliveries):
                        if Task.isCancelled { return .stopped }
                        for text in deliveries.flatMap(encode) {
                            do { try await outbound.writeTextMessage(text) } catch { return .stopped }
                        }
                    }
                }
            }
            group.addTask {
                guard let reason = await outbox.closed() else { return .stopped }
                if reason == .overflow || reason == .pingTimeout { return .abandoned(reason) }
                // The writer sends what is left; past the grace the connection is cut.
                guard (try? await Task.sleep(for: closeGrace)) != nil else { return .stopped }
                return .timedOut
            }
            let first = await group.next() ?? .stopped
            group.cancelAll()
            return first
        }
        switch ending {
        case .drained(let reason), .abandoned(let reason): await close(outbound, channel: channel, for: reason)
        case .timedOut: try? await channel.close()
        case .stopped: break
        }
    }

    /// Sends the close frame for `reason`; a connection that cannot take it in time (or whose
    /// client is gone or not reading) is cut.
    public static func close(_ outbound: WebSocketOutboundWriter, channel: any Channel, for reason: ConnectionOutbox.CloseReason) async {
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
    public func close(_ outbound: WebSocketOutboundWriter) async throws {
        switch self {
        // 1013 "try again later": reconnecting (and catching up with `since`) is the remedy.
        case .overflow: try await outbound.close(.unknown(1013), reason: "outgoing queue full: the client does not read fast enough")
        case .pingTimeout: try await outbound.close(.policyViolation, reason: "ping timeout")
        case .notAuthenticated: try await outbound.close(.policyViolation, reason: "unauthorized")
        case .shutdown: try await outbound.close(.goingAway, reason: "server shutting down")
        // 4001: the session the connection stood on ended (its last frame said why).
        case .sessionEnded: try await outbound.close(.unknown(4001), reason: "session ended")
        case .protocolError: try await outbound.close(.protocolError, reason: "parse error")
        case .ended: try await outbound.close(.normalClosure, reason: nil)
        }
    }
}

extension WebSocketMessage {
    /// The message's length in bytes.
    public var size: Int {
        switch self {
        case .text(let text): text.utf8.count
        case .binary(let buffer): buffer.readableBytes
        }
    }
}
