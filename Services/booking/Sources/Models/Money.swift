import Foundation

/// An amount of money in whole cents, shown as a decimal number (`9.99`).
struct Money: Codable, Sendable, Equatable, Comparable {
    var cents: Int

    init(cents: Int) { self.cents = cents }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let value = try container.decode(Double.self)
        guard value.isFinite, value >= 0, value <= 100_000 else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "must be an amount from 0 to 100000")
        }
        let cents = (value * 100).rounded()
        guard abs(cents - value * 100) < 0.000_1 else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "must have at most two decimals")
        }
        self.cents = Int(cents)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        // A correctly rounded division of two exact integers is the Double nearest to the exact
        // amount, the same one "9.99" parses to, so the encoder's shortest form prints "9.99"
        // (Decimal would print the same, at many times the cost on every catalogue response).
        try container.encode(Double(cents) / 100)
    }

    static func < (lhs: Money, rhs: Money) -> Bool { lhs.cents < rhs.cents }
}
