import Foundation
import Hummingbird

/// A bookable service (`ench`, `bo`, `kd`, `boss`) and what an hour of it costs.
struct BookableService: ResponseCodable, Equatable {
    var id: String
    var type: String
    var name: String
    var pricePerHour: Money
    var available: Bool
}

/// A pack of hours sold in the shop.
struct Pack: ResponseCodable, Equatable {
    var id: String
    var name: String
    var hours: Int
    var price: Money
    var currency: String
    var active: Bool
}

/// A game VM.
struct VM: Encodable, Sendable, Equatable {
    /// Whether a VM takes bookings: `online` and `offline` ones do (an offline VM is started for
    /// its booking), one in `maintenance` takes none.
    enum Status: String, Codable, Sendable, CaseIterable {
        case online, offline, maintenance
    }

    var id: String
    var name: String
    var status: Status
    var region: String
    var cpu: Int
    var memoryGB: Int
    var statusChangedAt: Date

    enum CodingKeys: String, CodingKey {
        case id, name, status, region, cpu
        case memoryGB = "memory"
    }
}

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
