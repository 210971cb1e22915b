import Foundation
import GuildCore

/// Engine.IO v4, the transport under socket.io: what this server announces and how its packets
/// are written (a packet is one type digit and its data; a polling payload joins packets with
/// the record separator `\u{1e}`).
public enum EngineIO {
    /// The server pings this often (`2`); the client answers each with a pong (`3`).
    public static let pingInterval: Duration = .seconds(25)
    /// A client that has not answered a ping within this is closed.
    public static let pingTimeout: Duration = .seconds(20)
    /// The largest polling request body and WebSocket message a client may send, in bytes.
    public static let maxPayload = 1_000_000
    /// A session whose client has not connected to the namespace (CONNECT with a valid token)
    /// within this is closed.
    public static let connectTimeout: Duration = .seconds(10)
    /// Between the packets of a polling payload.
    public static let separator: Character = "\u{1e}"

    /// The open packet: `0{"sid":...,"upgrades":[...],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`.
    public static func openPacket(sid: String, upgrades: [String]) -> String {
        "0" + JSONValue.object([
            "sid": .string(sid),
            "upgrades": .array(upgrades.map(JSONValue.string)),
            "pingInterval": .number(Double(pingInterval.components.seconds * 1000)),
            "pingTimeout": .number(Double(pingTimeout.components.seconds * 1000)),
            "maxPayload": .number(Double(maxPayload)),
        ]).jsonText()
    }

    /// A new random id (120 bits, URL-safe), after `prefix` when one is given.
    public static func makeId(prefix: String? = nil) -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<15).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let random = Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        return prefix.map { "\($0).\(random)" } ?? random
    }

    /// What a connection's outbox holds, as the Engine.IO packets that carry it (none: nothing to send).
    /// A frame is an event; the last frame of a session that ended is followed by the namespace's
    /// DISCONNECT.
    public static func packets(for delivery: ConnectionOutbox.Delivery) -> [String] {
        switch delivery {
        case .frame(let frame, nil): SocketIOPacket.event(fromFrame: frame).map { ["4" + $0] } ?? []
        case .frame(let frame, let ack?): ["4" + SocketIOPacket.ack(ack, frame: frame)]
        case .acknowledgement(let ack): ["4" + SocketIOPacket.ack(ack, frame: nil)]
        case .packet(let packet): [packet]
        case .last(let frame): (SocketIOPacket.event(fromFrame: frame).map { ["4" + $0] } ?? []) + ["4" + SocketIOPacket.disconnect()]
        }
    }
}

/// A Socket.IO v5 packet, as carried in an Engine.IO message (`4…`): a type digit, then an
/// optional namespace (`/admin,`), an optional acknowledgement id and an optional JSON payload.
public struct SocketIOPacket: Sendable, Equatable {
    public enum Kind: Int, Sendable {
        case connect = 0, disconnect, event, ack, connectError, binaryEvent, binaryAck
    }

    public var kind: Kind
    /// How many binary attachments follow (BINARY_EVENT, BINARY_ACK).
    public var attachments = 0
    public var namespace = "/"
    public var id: Int?
    public var payload: JSONValue?

    /// The most attachments one binary packet may announce.
    public static let maxAttachments = 16

    public init(kind: Kind, attachments: Int = 0, namespace: String = "/", id: Int? = nil, payload: JSONValue? = nil) {
        self.kind = kind
        self.attachments = attachments
        self.namespace = namespace
        self.id = id
        self.payload = payload
    }

    /// Parses the data of an Engine.IO message; nil when it is not a Socket.IO packet.
    public init?(parsing text: Substring) {
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
    public static func event(fromFrame frame: String) -> String? {
        guard case .object(var fields)? = try? JSONValue(parsing: frame), case .string(let type)? = fields.removeValue(forKey: "type") else {
            return nil
        }
        return "2" + JSONValue.array([.string(type), .object(fields)]).jsonText()
    }

    /// `3<id>[frame]` (or `3<id>[]`): the acknowledgement of the client's event `id`.
    public static func ack(_ id: Int, frame: String?) -> String {
        "3\(id)[\(frame ?? "")]"
    }

    /// `1`: the server ends the client's socket on the default namespace.
    public static func disconnect() -> String { "1" }

    /// `0{"sid":...}`: the client is connected to the default namespace.
    public static func connected(socketId: String) -> String {
        "0" + JSONValue.object(["sid": .string(socketId)]).jsonText()
    }

    /// `4{"message":...}` (namespace `namespace`): the connection to it is refused.
    public static func connectError(_ message: String, namespace: String = "/") -> String {
        "4" + (namespace == "/" ? "" : namespace + ",") + JSONValue.object(["message": .string(message)]).jsonText()
    }
}

extension SocketIOPacket {
    /// An event's name and the arguments after it, when the payload is `["name", ...]`.
    public var event: (name: String, arguments: [JSONValue])? {
        guard case .array(let items)? = payload, case .string(let name)? = items.first else { return nil }
        return (name, Array(items.dropFirst()))
    }

    /// The attachment numbers the payload's placeholders (`{"_placeholder":true,"num":n}`) name,
    /// in the order they appear.
    public var placeholders: [Int] {
        var numbers: [Int] = []
        func visit(_ value: JSONValue) {
            switch value {
            case .object(let fields):
                if fields["_placeholder"] == .bool(true), case .number(let number)? = fields["num"] {
                    numbers.append(number == number.rounded() && number >= 0 && number < 1e6 ? Int(number) : -1)
                } else {
                    fields.values.forEach(visit)
                }
            case .array(let items): items.forEach(visit)
            default: break
            }
        }
        payload.map(visit)
        return numbers
    }
}
