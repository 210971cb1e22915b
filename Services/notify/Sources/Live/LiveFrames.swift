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
