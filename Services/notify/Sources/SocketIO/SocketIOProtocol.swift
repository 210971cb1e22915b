import Foundation
import GuildCore

/// Engine.IO v4, the transport under socket.io: what this server announces and how its packets
/// are written (a packet is one type digit and its data; a polling payload joins packets with
/// the record separator `\u{1e}`).
enum EngineIO {
    /// The server pings this often (`2`); the client answers each with a pong (`3`).
    static let pingInterval: Duration = .seconds(25)
    /// A client that has not answered a ping within this is closed.
    static let pingTimeout: Duration = .seconds(20)
    /// The largest polling request body and WebSocket message a client may send, in bytes.
    static let maxPayload = 1_000_000
    /// A session whose client has not connected to the namespace (CONNECT with a valid token)
    /// within this is closed.
    static let connectTimeout: Duration = .seconds(10)
    /// Between the packets of a polling payload.
    static let separator: Character = "\u{1e}"

    /// The open packet: `0{"sid":...,"upgrades":[...],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`.
    static func openPacket(sid: String, upgrades: [String]) -> String {
        "0" + JSONValue.object([
            "sid": .string(sid),
            "upgrades": .array(upgrades.map(JSONValue.string)),
            "pingInterval": .number(Double(pingInterval.components.seconds * 1000)),
            "pingTimeout": .number(Double(pingTimeout.components.seconds * 1000)),
            "maxPayload": .number(Double(maxPayload)),
        ]).jsonText()
    }

    /// A new random id (120 bits, URL-safe), after `prefix` when one is given.
    static func makeId(prefix: String? = nil) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<15).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let random = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        return prefix.map { "\($0).\(random)" } ?? random
    }

    /// What a connection's outbox holds, as the Engine.IO packets that carry it (none: nothing to send).
    /// The end of the session is the event `session_ended`, then the namespace's DISCONNECT.
    static func packets(for delivery: ConnectionOutbox.Delivery) -> [String] {
        switch delivery {
        case .frame(let frame, nil): SocketIOPacket.event(fromFrame: frame).map { ["4" + $0] } ?? []
        case .frame(let frame, let ack?): ["4" + SocketIOPacket.ack(ack, frame: frame)]
        case .acknowledgement(let ack): ["4" + SocketIOPacket.ack(ack, frame: nil)]
        case .packet(let packet): [packet]
        case .sessionEnded(let reason):
            ["4" + "2" + JSONValue.array([.string("session_ended"), .object(["reason": .string(reason.rawValue)])]).jsonText(), "41"]
        }
    }
}

/// A Socket.IO v5 packet, as carried in an Engine.IO message (`4…`): a type digit, then an
/// optional namespace (`/admin,`), an optional acknowledgement id and an optional JSON payload.
struct SocketIOPacket: Equatable {
    enum Kind: Int {
        case connect = 0, disconnect, event, ack, connectError, binaryEvent, binaryAck
    }

    var kind: Kind
    /// How many binary attachments follow (BINARY_EVENT, BINARY_ACK).
    var attachments = 0
    var namespace = "/"
    var id: Int?
    var payload: JSONValue?

    /// The most attachments one binary packet may announce.
    static let maxAttachments = 16

    /// Parses the data of an Engine.IO message; nil when it is not a Socket.IO packet.
    init?(parsing text: Substring) {
        guard let first = text.first, let digit = first.wholeNumberValue, let kind = Kind(rawValue: digit) else { return nil }
        self.kind = kind
        var rest = text.dropFirst()
        if kind == .binaryEvent || kind == .binaryAck {
            // `<attachments>-` before the rest.
            let count = rest.prefix { $0.isASCII && $0.isNumber }
            guard !count.isEmpty, count.count <= 6, let attachments = Int(count), rest.dropFirst(count.count).first == "-" else { return nil }
            self.attachments = attachments
            rest = rest.dropFirst(count.count + 1)
        }
        if rest.first == "/" {
            let end = rest.firstIndex(of: ",") ?? rest.endIndex
            namespace = String(rest[..<end])
            rest = end == rest.endIndex ? rest[end...] : rest[rest.index(after: end)...]
        }
        let digits = rest.prefix { $0.isASCII && $0.isNumber }
        if !digits.isEmpty {
            guard digits.count <= 15, let id = Int(digits) else { return nil }
            self.id = id
            rest = rest.dropFirst(digits.count)
        }
        if !rest.isEmpty {
            guard let payload = try? JSONValue(parsing: String(rest)) else { return nil }
            self.payload = payload
        }
    }

    /// `2["type",{...}]`: the event of a server frame (`{"type":"type",...}`), the frame's other
    /// members its payload; nil when `frame` is not such an object.
    static func event(fromFrame frame: String) -> String? {
        guard case .object(var fields)? = try? JSONValue(parsing: frame), case .string(let type)? = fields.removeValue(forKey: "type") else {
            return nil
        }
        return "2" + JSONValue.array([.string(type), .object(fields)]).jsonText()
    }

    /// `3<id>[frame]` (or `3<id>[]`): the acknowledgement of the client's event `id`.
    static func ack(_ id: Int, frame: String?) -> String {
        "3\(id)[\(frame ?? "")]"
    }

    /// `0{"sid":...}`: the client is connected to the default namespace.
    static func connected(socketId: String) -> String {
        "0" + JSONValue.object(["sid": .string(socketId)]).jsonText()
    }

    /// `4{"message":...}` (namespace `namespace`): the connection to it is refused.
    static func connectError(_ message: String, namespace: String = "/") -> String {
        "4" + (namespace == "/" ? "" : namespace + ",") + JSONValue.object(["message": .string(message)]).jsonText()
    }
}
