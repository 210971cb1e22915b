import Foundation

/// Timestamps as the contract writes them: RFC 3339 in UTC (`2026-11-22T10:30:00Z`).
///
/// Clients may send fractional seconds (`2026-11-22T10:30:00.000Z`, what JavaScript's
/// `toISOString()` produces) or an offset (`+02:00`); both are accepted.
public enum RFC3339 {
    private static let whole = Date.ISO8601FormatStyle()
    private static let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// Parses `text`, or returns nil when it is not an RFC 3339 timestamp. Fractional seconds
    /// are kept to the microsecond.
    public static func parse(_ text: some StringProtocol) -> Date? {
        let text = String(text)
        guard text.count <= 40 else { return nil }
        if let dot = text.firstIndex(of: "."), text[..<dot].count == 19 {
            let digits = text[text.index(after: dot)...].prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 9, let seconds = try? whole.parse(String(text[..<dot]) + text[digits.endIndex...]) else {
                return try? fractional.parse(text)
            }
            let fraction = Double("0." + digits.prefix(6)) ?? 0
            return seconds.addingTimeInterval(fraction)
        }
        return (try? whole.parse(text)) ?? (try? fractional.parse(text))
    }

    /// Formats `date` in UTC to the microsecond (`2026-11-22T10:30:00.123456Z`): for events,
    /// whose order within a second matters.
    public static func formatMicroseconds(_ date: Date) -> String {
        let seconds = date.timeIntervalSince1970.rounded(.down)
        let micros = min(999_999, Int(((date.timeIntervalSince1970 - seconds) * 1_000_000).rounded()))
        let text = whole.format(Date(timeIntervalSince1970: seconds))
        let padded = String(micros).count < 6 ? String(repeating: "0", count: 6 - String(micros).count) + String(micros) : String(micros)
        return String(text.dropLast()) + "." + padded + "Z"
    }

    /// Formats `date` in UTC to the second.
    public static func format(_ date: Date) -> String {
        whole.format(date)
    }

    /// Decodes a date from a string value, naming the expected form when it is not one.
    public static func decode(from decoder: any Decoder) throws -> Date {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let date = parse(text) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "must be an RFC 3339 timestamp such as 2026-11-22T10:30:00Z")
        }
        return date
    }
}

extension UUID {
    /// A version 7 UUID: 48 bits of Unix milliseconds, then random bits, so ids sort by creation
    /// time and keyset pagination on the id follows the order in which things were made.
    public static func timeOrdered(at date: Date = Date()) -> UUID {
        let milliseconds = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255) }
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: milliseconds >> (8 * (5 - UInt64(index)))) }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }

    /// The millisecond a ``timeOrdered(at:)`` id was made; nil for an id of another version.
    public var timeOrderedDate: Date? {
        let bytes = uuid
        guard bytes.6 >> 4 == 7 else { return nil }
        let milliseconds = [bytes.0, bytes.1, bytes.2, bytes.3, bytes.4, bytes.5].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}
