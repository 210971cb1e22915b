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
    /// Hours a cancellation now would give back by the refund policy in force; nil when the
    /// booking can no longer be cancelled (cancelled, or over). Set by ``RefundPolicy/shown(on:at:)``.
    var refundIfCancelled: Int? = nil
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
}
