import Foundation
import GuildCore

/// What a service runs on the default namespace of its Socket.IO sessions: it decides who may
/// connect, and acts on the events of a connected socket. The transport (``EngineSession``)
/// keeps to the protocol and hands over only well-formed packets; what the application refuses
/// (an unknown event, bad arguments) it answers itself, and the session goes on.
public protocol SocketIONamespace: Sendable {
    /// What an accepted CONNECT stands on (a signed-in user, say).
    associatedtype Credentials: Sendable

    /// Looks at a CONNECT's auth payload: what the socket will stand on, or the refusal whose
    /// message the client is sent (CONNECT_ERROR).
    func authenticate(_ auth: JSONValue?) async throws(SocketIOConnectRefusal) -> Credentials

    /// Opens the socket of an accepted CONNECT, whose frames go to `outbox` (the CONNECT's
    /// answer is already queued there, so whatever the socket queues follows it).
    func open(_ credentials: Credentials, outbox: ConnectionOutbox) -> any SocketIOSocket
}

/// A client connected to the default namespace.
public protocol SocketIOSocket: Sendable {
    /// An EVENT, or a BINARY_EVENT once its attachments have arrived: the arguments after the
    /// event's name (placeholders `{"_placeholder":true,"num":n}` stand for `attachments[n]`),
    /// and `ack` when the client asked for an acknowledgement.
    func event(_ name: String, arguments: [JSONValue], attachments: [Data], ack: Int?) async

    /// The socket is gone: the client left the namespace (DISCONNECT) or the session ended.
    /// Called once.
    func disconnect() async
}

/// Why a CONNECT is refused; `message` is what the client's `connect_error` shows.
public struct SocketIOConnectRefusal: Error, Sendable, Equatable {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }
}
