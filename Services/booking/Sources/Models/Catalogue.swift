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
