import Foundation
import Hummingbird

/// A reservation of a VM for a service over `[start_time, end_time)`.
struct Booking: ResponseEncodable, Equatable {
    /// scheduled → active (at start) → completed (at end), or cancelled.
    enum Status: String, Codable, Sendable, CaseIterable {
        case scheduled, active, completed, cancelled
    }

    var id: UUID
    var userId: UUID
    var service: String
    var realm: String
    var gameName: String
    var vmId: String
    var startTime: Date
    var endTime: Date
    var duration: Int
    var hoursCharged: Int
    var hoursRefunded: Int?
    var status: Status
    var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, service, realm, duration, status
        case userId = "user_id"
        case gameName = "game_name"
        case vmId = "vm_id"
        case startTime = "start_time"
        case endTime = "end_time"
        case hoursCharged = "hours_charged"
        case hoursRefunded = "hours_refunded"
        case createdAt = "created_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id.uuidString.lowercased(), forKey: .id)
        try container.encode(userId.uuidString.lowercased(), forKey: .userId)
        try container.encode(service, forKey: .service)
        try container.encode(realm, forKey: .realm)
        try container.encode(gameName, forKey: .gameName)
        try container.encode(vmId, forKey: .vmId)
        try container.encode(startTime, forKey: .startTime)
        try container.encode(endTime, forKey: .endTime)
        try container.encode(duration, forKey: .duration)
        try container.encode(hoursCharged, forKey: .hoursCharged)
        try container.encode(hoursRefunded, forKey: .hoursRefunded)
        try container.encode(status, forKey: .status)
        try container.encode(createdAt, forKey: .createdAt)
    }
}

/// One entry of the append-only hours ledger, as the wallet shows it.
struct LedgerEntry: ResponseEncodable, Equatable {
    /// What caused the entry.
    enum Kind: String, Encodable, Sendable {
        case purchase, booking, refund, grant
    }

    var id: UUID
    var kind: Kind
    var hours: Int
    var balanceAfter: Int
    var bookingId: UUID?
    var packId: String?
    var reason: String?
    var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, kind, hours, reason
        case balanceAfter = "balance_after"
        case bookingId = "booking_id"
        case packId = "pack_id"
        case createdAt = "created_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id.uuidString.lowercased(), forKey: .id)
        try container.encode(kind, forKey: .kind)
        try container.encode(hours, forKey: .hours)
        try container.encode(balanceAfter, forKey: .balanceAfter)
        try container.encode(bookingId?.uuidString.lowercased(), forKey: .bookingId)
        try container.encode(packId, forKey: .packId)
        try container.encode(reason, forKey: .reason)
        try container.encode(createdAt, forKey: .createdAt)
    }
}
