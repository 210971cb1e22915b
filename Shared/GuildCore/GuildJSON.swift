import Foundation

/// The contract's JSON rules, set once for every body a service writes or reads.
///
/// Writing (``encode(_:)``):
/// - property names become `snake_case` (`hoursBalance` → `hours_balance`); a `CodingKeys` raw
///   value that is already snake case is kept, so a model writes `CodingKeys` only to rename;
/// - an optional property that is nil is written as `null`, never left out;
/// - UUIDs are lower case, dates RFC 3339 in UTC to the second (`2026-11-22T10:30:00Z`);
/// - the keys of a `[String: …]` dictionary are data and are written as they are.
///
/// Reading (``decoder``): `snake_case` names map to the same properties, dates are RFC 3339
/// with or without fractional seconds.
public enum GuildJSON {
    /// Encodes `value` by the contract's rules.
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(256)
        try node(for: value, codingPath: []).write(to: &output)
        return output
    }

    /// Encodes `value` to a string by the contract's rules.
    public static func string<T: Encodable>(_ value: T) throws -> String {
        String(decoding: try encode(value), as: UTF8.self)
    }

    /// A decoder for request bodies: `snake_case` names, RFC 3339 dates.
    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .custom(RFC3339.decode(from:))
        return decoder
    }

    /// `hoursBalance` → `hours_balance`; a name without capitals is returned unchanged.
    public static func snakeCase(_ name: String) -> String {
        guard name.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) else { return name }
        var result: [UInt8] = []
        result.reserveCapacity(name.utf8.count + 4)
        let bytes = Array(name.utf8)
        for (index, byte) in bytes.enumerated() {
            let isUpper = byte >= 0x41 && byte <= 0x5A
            if isUpper {
                // A capital starts a word unless it continues an acronym (`memoryGB` → `memory_gb`).
                let previousIsUpper = index > 0 && bytes[index - 1] >= 0x41 && bytes[index - 1] <= 0x5A
                let nextIsLower = index + 1 < bytes.count && bytes[index + 1] >= 0x61 && bytes[index + 1] <= 0x7A
                if index > 0 && (!previousIsUpper || nextIsLower) { result.append(0x5F) }
                result.append(byte + 0x20)
            } else {
                result.append(byte)
            }
        }
        return String(decoding: result, as: UTF8.self)
    }

    static func node<T: Encodable>(for value: T, codingPath: [any CodingKey]) throws -> Node {
        switch value {
        case let uuid as UUID: return .string(uuid.uuidString.lowercased())
        case let date as Date: return .string(RFC3339.format(date))
        case let url as URL: return .string(url.absoluteString)
        case let dictionary as any StringKeyedEncodable: return try dictionary.guildJSONNode(codingPath: codingPath)
        case let writable as any GuildJSONWritable:
            var bytes: [UInt8] = []
            writable.writeGuildJSON(to: &bytes)
            return .raw(bytes)
        default:
            let encoder = NodeEncoder(codingPath: codingPath)
            try value.encode(to: encoder)
            return encoder.storage.node
        }
    }
}

// MARK: - The tree an encoding builds

extension GuildJSON {
    /// A JSON value under construction; containers are shared boxes so nested containers can be
    /// filled after they were handed out, as `Encoder` allows.
    enum Node {
        case null
        case literal(String)
        case string(String)
        /// JSON written by a ``GuildJSONWritable``, taken as it is.
        case raw([UInt8])
        case array(ArrayBox)
        case object(ObjectBox)

        func write(to output: inout [UInt8]) throws {
            switch self {
            case .null: output.append(contentsOf: "null".utf8)
            case .literal(let text): output.append(contentsOf: text.utf8)
            case .string(let text): Self.writeString(text, to: &output)
            case .raw(let bytes): output.append(contentsOf: bytes)
            case .array(let box):
                output.append(UInt8(ascii: "["))
                for (index, element) in box.elements.enumerated() {
                    if index > 0 { output.append(UInt8(ascii: ",")) }
                    try element.write(to: &output)
                }
                output.append(UInt8(ascii: "]"))
            case .object(let box):
                output.append(UInt8(ascii: "{"))
                for (index, member) in box.members.enumerated() {
                    if index > 0 { output.append(UInt8(ascii: ",")) }
                    Self.writeString(member.key, to: &output)
                    output.append(UInt8(ascii: ":"))
                    try member.value.write(to: &output)
                }
                output.append(UInt8(ascii: "}"))
            }
        }

        static func writeString(_ text: String, to output: inout [UInt8]) {
            output.append(UInt8(ascii: "\""))
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "\""): output.append(contentsOf: #"\""#.utf8)
                case UInt8(ascii: "\\"): output.append(contentsOf: #"\\"#.utf8)
                case 0x0A: output.append(contentsOf: #"\n"#.utf8)
                case 0x0D: output.append(contentsOf: #"\r"#.utf8)
                case 0x09: output.append(contentsOf: #"\t"#.utf8)
                case 0..<0x20:
                    let hex = Array("0123456789abcdef".utf8)
                    output.append(contentsOf: #"\u00"#.utf8)
                    output.append(hex[Int(byte >> 4)])
                    output.append(hex[Int(byte & 0x0F)])
                default: output.append(byte)
                }
            }
            output.append(UInt8(ascii: "\""))
        }

        static func number(_ value: Double, codingPath: [any CodingKey]) throws -> Node {
            guard value.isFinite else {
                throw EncodingError.invalidValue(value, .init(codingPath: codingPath, debugDescription: "JSON has no \(value)"))
            }
            // Whole numbers print without a fraction (`10`, not `10.0`), as JSONEncoder does.
            if value.rounded() == value, abs(value) < 9.0e15 { return .literal(String(Int64(value))) }
            return .literal(value.description)
        }
    }

    final class ArrayBox {
        var elements: [Node] = []
    }

    final class ObjectBox {
        var members: [(key: String, value: Node)] = []

        func set(_ key: String, _ value: Node) {
            if let index = members.firstIndex(where: { $0.key == key }) {
                members[index].value = value
            } else {
                members.append((key, value))
            }
        }
    }

    /// Where one encoder's value goes: nothing yet, a single value, or a container.
    final class Storage {
        var node: Node = .null
    }
}

// MARK: - Dictionaries keep their keys

/// A value that writes its own JSON, for the few shapes answered in bulk (a chart's daily
/// series): ``GuildJSON`` takes the bytes as they are instead of going through `Encoder` for
/// every element. What it writes must be what its `Encodable` conformance encodes.
public protocol GuildJSONWritable: Encodable {
    func writeGuildJSON(to output: inout [UInt8])
}

extension GuildJSON {
    /// Writes `text` as a JSON string, escaped as the encoder escapes strings.
    public static func write(_ text: String, to output: inout [UInt8]) {
        Node.writeString(text, to: &output)
    }

    /// Writes a whole number.
    public static func write(_ value: some BinaryInteger, to output: inout [UInt8]) {
        output.append(contentsOf: String(value).utf8)
    }
}

/// A `[String: Value]` dictionary, whose keys are data rather than property names.
protocol StringKeyedEncodable {
    func guildJSONNode(codingPath: [any CodingKey]) throws -> GuildJSON.Node
}

extension Dictionary: StringKeyedEncodable where Key == String, Value: Encodable {
    func guildJSONNode(codingPath: [any CodingKey]) throws -> GuildJSON.Node {
        let box = GuildJSON.ObjectBox()
        for key in keys.sorted() {
            guard let value = self[key] else { continue }
            box.members.append((key, try GuildJSON.node(for: value, codingPath: codingPath + [GuildJSON.Key(key)])))
        }
        return .object(box)
    }
}

// MARK: - Encoder

extension GuildJSON {
    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int?
        init(_ string: String) { self.stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init(intValue: Int) {
            self.stringValue = String(intValue)
            self.intValue = intValue
        }
    }

    final class NodeEncoder: Encoder {
        let codingPath: [any CodingKey]
        let storage = Storage()
        var userInfo: [CodingUserInfoKey: Any] { [:] }

        init(codingPath: [any CodingKey]) { self.codingPath = codingPath }

        func container<K: CodingKey>(keyedBy type: K.Type) -> KeyedEncodingContainer<K> {
            let box: ObjectBox
            if case .object(let existing) = storage.node {
                box = existing
            } else {
                box = ObjectBox()
                storage.node = .object(box)
            }
            return KeyedEncodingContainer(KeyedContainer<K>(box: box, codingPath: codingPath))
        }

        func unkeyedContainer() -> any UnkeyedEncodingContainer {
            let box: ArrayBox
            if case .array(let existing) = storage.node {
                box = existing
            } else {
                box = ArrayBox()
                storage.node = .array(box)
            }
            return UnkeyedContainer(box: box, codingPath: codingPath)
        }

        func singleValueContainer() -> any SingleValueEncodingContainer {
            SingleValueContainer(storage: storage, codingPath: codingPath)
        }
    }

    static func node(_ value: Bool) -> Node { .literal(value ? "true" : "false") }
    static func node<I: BinaryInteger>(integer value: I) -> Node { .literal(String(value)) }

    struct KeyedContainer<K: CodingKey>: KeyedEncodingContainerProtocol {
        let box: ObjectBox
        let codingPath: [any CodingKey]

        private func name(_ key: K) -> String { GuildJSON.snakeCase(key.stringValue) }
        private func set(_ node: Node, _ key: K) { box.set(name(key), node) }

        mutating func encodeNil(forKey key: K) throws { set(.null, key) }
        mutating func encode(_ value: Bool, forKey key: K) throws { set(GuildJSON.node(value), key) }
        mutating func encode(_ value: String, forKey key: K) throws { set(.string(value), key) }
        mutating func encode(_ value: Double, forKey key: K) throws { set(try .number(value, codingPath: codingPath + [key]), key) }
        mutating func encode(_ value: Float, forKey key: K) throws { set(try .number(Double(value), codingPath: codingPath + [key]), key) }
        mutating func encode(_ value: Int, forKey key: K) throws { set(GuildJSON.node(integer: value), key) }
        mutating func encode(_ value: Int8, forKey key: K) throws { set(GuildJSON.node(integer: value), key) }
        mutating func encode(_ value: Int16, forKey key: K) throws { set(GuildJSON.node(integer: value), key) }
        mutating func encode(_ value: Int32, forKey key: K) throws { set(GuildJSON.node(integer: value), key) }
        mutating func encode(_ value: Int64, forKey key: K) throws { set(GuildJSON.node(integer: value), key) }
        mutating func encode(_ value: UInt, forKey key: K) throws { set(GuildJSON.node(integer: value), key) }
        mutating func encode(_ value: UInt8, forKey key: K) throws { set(GuildJSON.node(integer: value), key) }
        mutating func encode(_ value: UInt16, forKey key: K) throws { set(GuildJSON.node(integer: value), key) }
        mutating func encode(_ value: UInt32, forKey key: K) throws { set(GuildJSON.node(integer: value), key) }
        mutating func encode(_ value: UInt64, forKey key: K) throws { set(GuildJSON.node(integer: value), key) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: K) throws {
            set(try GuildJSON.node(for: value, codingPath: codingPath + [key]), key)
        }

        // Nil optionals are written as `null` (synthesized conformances call these).
        mutating func encodeIfPresent(_ value: Bool?, forKey key: K) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: String?, forKey key: K) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: Double?, forKey key: K) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: Float?, forKey key: K) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: Int?, forKey key: K) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: Int8?, forKey key: K) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: Int16?, forKey key: K) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: Int32?, forKey key: K) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: Int64?, forKey key: K) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: UInt?, forKey key: K) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: UInt8?, forKey key: K) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: UInt16?, forKey key: K) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: UInt32?, forKey key: K) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent(_ value: UInt64?, forKey key: K) throws { try encodeOptional(value, key) }
        mutating func encodeIfPresent<T: Encodable>(_ value: T?, forKey key: K) throws { try encodeOptional(value, key) }

        private mutating func encodeOptional<T: Encodable>(_ value: T?, _ key: K) throws {
            guard let value else { return set(.null, key) }
            try encode(value, forKey: key)
        }

        mutating func nestedContainer<N: CodingKey>(keyedBy keyType: N.Type, forKey key: K) -> KeyedEncodingContainer<N> {
            let nested = ObjectBox()
            set(.object(nested), key)
            return KeyedEncodingContainer(KeyedContainer<N>(box: nested, codingPath: codingPath + [key]))
        }

        mutating func nestedUnkeyedContainer(forKey key: K) -> any UnkeyedEncodingContainer {
            let nested = ArrayBox()
            set(.array(nested), key)
            return UnkeyedContainer(box: nested, codingPath: codingPath + [key])
        }

        mutating func superEncoder() -> any Encoder { superEncoder(forKey: K(stringValue: "super")!) }

        mutating func superEncoder(forKey key: K) -> any Encoder {
            let encoder = NodeEncoder(codingPath: codingPath + [key])
            let nested = ObjectBox()
            encoder.storage.node = .object(nested)
            set(.object(nested), key)
            return encoder
        }
    }

    struct UnkeyedContainer: UnkeyedEncodingContainer {
        let box: ArrayBox
        let codingPath: [any CodingKey]
        var count: Int { box.elements.count }

        private var nextPath: [any CodingKey] { codingPath + [Key(intValue: count)] }

        mutating func encodeNil() throws { box.elements.append(.null) }
        mutating func encode(_ value: Bool) throws { box.elements.append(GuildJSON.node(value)) }
        mutating func encode(_ value: String) throws { box.elements.append(.string(value)) }
        mutating func encode(_ value: Double) throws { box.elements.append(try .number(value, codingPath: nextPath)) }
        mutating func encode(_ value: Float) throws { box.elements.append(try .number(Double(value), codingPath: nextPath)) }
        mutating func encode(_ value: Int) throws { box.elements.append(GuildJSON.node(integer: value)) }
        mutating func encode(_ value: Int64) throws { box.elements.append(GuildJSON.node(integer: value)) }
        mutating func encode<T: Encodable>(_ value: T) throws { box.elements.append(try GuildJSON.node(for: value, codingPath: nextPath)) }

        mutating func nestedContainer<N: CodingKey>(keyedBy keyType: N.Type) -> KeyedEncodingContainer<N> {
            let nested = ObjectBox()
            let path = nextPath
            box.elements.append(.object(nested))
            return KeyedEncodingContainer(KeyedContainer<N>(box: nested, codingPath: path))
        }

        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            let nested = ArrayBox()
            let path = nextPath
            box.elements.append(.array(nested))
            return UnkeyedContainer(box: nested, codingPath: path)
        }

        mutating func superEncoder() -> any Encoder {
            let encoder = NodeEncoder(codingPath: nextPath)
            let nested = ObjectBox()
            encoder.storage.node = .object(nested)
            box.elements.append(.object(nested))
            return encoder
        }
    }

    struct SingleValueContainer: SingleValueEncodingContainer {
        let storage: Storage
        let codingPath: [any CodingKey]

        mutating func encodeNil() throws { storage.node = .null }
        mutating func encode(_ value: Bool) throws { storage.node = GuildJSON.node(value) }
        mutating func encode(_ value: String) throws { storage.node = .string(value) }
        mutating func encode(_ value: Double) throws { storage.node = try .number(value, codingPath: codingPath) }
        mutating func encode(_ value: Float) throws { storage.node = try .number(Double(value), codingPath: codingPath) }
        mutating func encode(_ value: Int) throws { storage.node = GuildJSON.node(integer: value) }
        mutating func encode(_ value: Int8) throws { storage.node = GuildJSON.node(integer: value) }
        mutating func encode(_ value: Int16) throws { storage.node = GuildJSON.node(integer: value) }
        mutating func encode(_ value: Int32) throws { storage.node = GuildJSON.node(integer: value) }
        mutating func encode(_ value: Int64) throws { storage.node = GuildJSON.node(integer: value) }
        mutating func encode(_ value: UInt) throws { storage.node = GuildJSON.node(integer: value) }
        mutating func encode(_ value: UInt8) throws { storage.node = GuildJSON.node(integer: value) }
        mutating func encode(_ value: UInt16) throws { storage.node = GuildJSON.node(integer: value) }
        mutating func encode(_ value: UInt32) throws { storage.node = GuildJSON.node(integer: value) }
        mutating func encode(_ value: UInt64) throws { storage.node = GuildJSON.node(integer: value) }
        mutating func encode<T: Encodable>(_ value: T) throws { storage.node = try GuildJSON.node(for: value, codingPath: codingPath) }
    }
}
