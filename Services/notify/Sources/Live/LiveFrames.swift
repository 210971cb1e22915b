import Foundation
import GuildCore

/// A frame from the client: a `/ws` text frame, or a socket.io event (its name is the `type`).
struct ClientFrame: Decodable, Sendable {
    var type: String
    var token: String?
    var ticketId: String?
    /// `join_ticket`: only the messages after this one.
    var since: String?

    init?(_ text: String) {
        guard let frame = try? GuildJSON.decoder.decode(ClientFrame.self, from: Data(text.utf8)) else { return nil }
        self = frame
    }

    /// The frame of a socket.io event `name` with its first argument (an object, or nothing).
    init?(event name: String, payload: JSONValue?) {
        self.type = name
        switch payload {
        case .none, .null?:
            break
        case .object(let fields)?:
            ticketId = fields["ticket_id"]?.stringValue
            since = fields["since"]?.stringValue
            token = fields["token"]?.stringValue
        default:
            return nil
        }
    }
}

/// Frames the server sends, each a type of its own; ``text(_:)`` writes one.
enum ServerFrame {
    /// The frame as JSON text by the contract's rules.
    static func text(_ frame: some Encodable) -> String {
        (try? GuildJSON.string(frame)) ?? #"{"type":"error","code":"internal_error","message":"the frame could not be written"}"#
    }

    /// `{"type":"error","code":...,"message":...}`.
    static func error(code: String, message: String) -> String {
        text(Failure(code: code, message: message))
    }

    struct Failure: Codable, Equatable {
        var type = "error"
        var code: String
        var message: String
    }

    /// `{"type":"connection_established","user_id":…,"role":…}`.
    struct ConnectionEstablished: Codable, Equatable {
        var type = "connection_established"
        var userId: String
        var role: String
    }

    /// `{"type":"session_ended","reason":…}`: the last frame of a connection whose session ended.
    struct SessionEnded: Codable, Equatable {
        var type = "session_ended"
        var reason: String
    }

    /// `{"type":"authenticated","expires_at":…}`: the connection's token was replaced in-band.
    struct Authenticated: Codable, Equatable {
        var type = "authenticated"
        var expiresAt: Date
    }

    /// `{"type":"pong"}`.
    struct Pong: Codable, Equatable {
        var type = "pong"
    }

    /// `{"type":"notification","id":…,"title":…,"body":…}`: a new inbox entry.
    struct Notification: Codable, Equatable {
        var type = "notification"
        var id: UUID
        var title: String
        var body: String
    }

    /// `{"type":"notification_read","id":…}`: an entry (or, with `"all"`, every entry) was read on another tab.
    struct NotificationRead: Codable, Equatable {
        var type = "notification_read"
        var id: JSONValue
    }

    /// `{"type":"broadcast","id":…,"title":…,"message":…,"priority":…}`.
    struct Broadcast: Codable, Equatable {
        var type = "broadcast"
        var id: UUID
        var title: String
        var message: String
        var priority: String
    }

    /// `{"type":"message_history","ticket_id":…,"messages":[…]}`: a room's messages on joining it.
    struct MessageHistory: Codable, Equatable {
        var type = "message_history"
        var ticketId: UUID
        var messages: [JSONValue]
    }
}
