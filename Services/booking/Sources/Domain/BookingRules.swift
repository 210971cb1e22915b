import Foundation
import GuildCore

/// The limits of a booking request, checked once at the edge.
enum BookingRules {
    /// Times are kept to the second; fractions are dropped.
    static func wholeSeconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
    }

    /// Checks a requested window against the settings in force: `duration` a whole number of hours
    /// the contract allows (400) and within the longest booking, `start` in the future (400) and
    /// within the horizon. Past the settings' limits is a 422: the request is well formed, the
    /// settings of the moment refuse it.
    static func checkWindow(
        start: Date, duration: Int, now: Date, limits: BookingConfig, startField: String = "start_time", durationField: String = "duration"
    ) throws {
        guard (1...BookingConfig.durationLimit).contains(duration) else {
            throw APIError.invalidField(durationField, "must be a whole number of hours from 1 to \(BookingConfig.durationLimit)")
        }
        guard limits.durations.contains(duration) else { throw APIError.bookingTooLong(field: durationField, longest: limits.longestBookingHours) }
        guard start > now else { throw APIError.invalidField(startField, "must be in the future") }
        guard start.timeIntervalSince(now) <= limits.horizon else { throw APIError.bookingTooFarAhead(field: startField, days: limits.horizonDays) }
    }

    /// A free-text field: trimmed, 1 to `maximum` characters, no control characters.
    static func text(_ value: String, field: String, maximum: Int = 64) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...maximum).contains(trimmed.count) else { throw APIError.invalidField(field, "must be 1 to \(maximum) characters") }
        guard !trimmed.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw APIError.invalidField(field, "must not contain control characters")
        }
        return trimmed
    }

    /// A catalogue id (`vm5`, `pack_100`): 1 to 32 lower-case letters, digits, `_` or `-`.
    static func identifier(_ value: String, field: String) throws -> String {
        guard isIdentifier(value) else {
            throw APIError.invalidField(field, "must be 1 to 32 lower-case letters, digits, '_' or '-', starting with a letter or digit")
        }
        return value
    }

    /// Whether `value` has the shape of a catalogue id (anything else cannot name one).
    static func isIdentifier(_ value: some StringProtocol) -> Bool {
        guard let first = value.first, (1...32).contains(value.count), first.isASCII, first.isLetter || first.isNumber else { return false }
        return value.allSatisfy { $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_" || $0 == "-") }
    }
}
