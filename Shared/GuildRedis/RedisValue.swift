/// A reply from Redis (RESP2).
public enum RedisValue: Sendable, Equatable {
    /// A bulk string.
    case bulk(String)
    /// A status reply such as `OK`.
    case status(String)
    /// An integer reply.
    case integer(Int)
    /// An array reply.
    case array([RedisValue])
    /// The nil bulk string or nil array.
    case null

    /// The text of a bulk string or status reply.
    public var string: String? {
        switch self {
        case .bulk(let text), .status(let text): text
        case .integer(let value): String(value)
        default: nil
        }
    }

    /// The value of an integer reply (or a bulk string holding one).
    public var int: Int? {
        switch self {
        case .integer(let value): value
        case .bulk(let text): Int(text)
        default: nil
        }
    }

    /// The elements of an array reply; empty for anything else.
    public var elements: [RedisValue] {
        if case .array(let values) = self { return values }
        return []
    }
}
