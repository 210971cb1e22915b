import Foundation
import GuildCore
import Hummingbird

extension Request {
    /// The query parameter `name`, nil when absent or empty.
    public func query(_ name: String) -> String? {
        guard let value = uri.queryParameters[Substring(name)], !value.isEmpty else { return nil }
        return String(value)
    }

    /// The query parameter `name` as a typed value reads it: nil when absent or empty, a 400
    /// naming it when given more than once (`days=&days=7` is no number).
    func single(_ name: String) throws -> String? {
        guard uri.queryParameters[values: Substring(name)].count <= 1 else { throw APIError.invalidField(name, "must be given once") }
        return query(name)
    }

    /// The query parameter `name` as a whole number within `range`; a 400 naming it otherwise.
    public func query(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = try single(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw APIError.invalidField(name, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// The query parameter `name` as an RFC 3339 timestamp; a 400 naming it otherwise.
    public func queryDate(_ name: String) throws -> Date? {
        guard let text = try single(name) else { return nil }
        guard let date = RFC3339.parse(text) else { throw APIError.invalidField(name, "must be an RFC 3339 timestamp such as 2026-11-22T10:30:00Z") }
        return date
    }

    /// The query parameter `name` as `true` or `false`; a 400 naming it otherwise.
    public func queryBool(_ name: String) throws -> Bool? {
        guard let text = try single(name) else { return nil }
        switch text.lowercased() {
        case "true", "1": return true
        case "false", "0": return false
        default: throw APIError.invalidField(name, "must be true or false")
        }
    }
}
