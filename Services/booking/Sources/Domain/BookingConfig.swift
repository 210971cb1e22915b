import Foundation
import GuildCore
import Hummingbird

/// What admins change while booking runs (`GET/PUT /api/booking/config`): the base rate, the
/// volume discounts, the refund once a booking has started, and how far ahead and how long a
/// booking may be. The environment's values are the first ones, until an admin's change is stored.
struct BookingConfig: ResponseCodable, Sendable, Equatable {
    /// `percent` off an estimate of `from_hours` hours or more.
    struct DiscountTier: Codable, Sendable, Equatable {
        var fromHours: Int
        var percent: Int
    }

    /// The hourly rate of estimates that name no service.
    var basePrice: Money
    /// By `from_hours`, lowest first; the largest tier the hours reach applies.
    var discountTiers: [DiscountTier]
    /// What cancelling after the start gives back (before it, everything comes back).
    var refundAfterStart: RefundPolicy.AfterStart
    /// How many days ahead a booking may start.
    var horizonDays: Int
    /// The longest booking, in hours.
    var longestBookingHours: Int

    /// The default limits: 180 days ahead, 72 hours long.
    static let standardHorizonDays = 180
    static let standardLongestBookingHours = 72

    /// The price estimates these settings give.
    var pricing: Pricing { Pricing(discounts: discountTiers.map { Pricing.Discount(minimumHours: $0.fromHours, percent: $0.percent) }) }

    /// The refunds these settings give.
    var refunds: RefundPolicy { RefundPolicy(afterStart: refundAfterStart) }

    /// Whole hours a booking may last.
    var durations: ClosedRange<Int> { 1...longestBookingHours }

    /// How far ahead a booking may start.
    var horizon: TimeInterval { TimeInterval(horizonDays) * 24 * 3600 }

    // MARK: Checks

    /// The most discount tiers.
    static let tierLimit = 20
    /// The furthest horizon: ten years.
    static let horizonLimit = 3650
    /// The longest a booking may be set to last: 30 days.
    static let durationLimit = 720

    /// These settings, or a 400 naming the first field out of range (`discount_tiers[1].from_hours` …).
    func checked() throws -> BookingConfig {
        func check(_ value: Int, _ field: String, _ range: ClosedRange<Int>) throws {
            guard range.contains(value) else { throw APIError.invalidField(field, "must be \(range.lowerBound) to \(range.upperBound)") }
        }
        guard discountTiers.count <= Self.tierLimit else {
            throw APIError.invalidField("discount_tiers", "must have at most \(Self.tierLimit) tiers")
        }
        for (index, tier) in discountTiers.enumerated() {
            try check(tier.fromHours, "discount_tiers[\(index)].from_hours", Pricing.hourRange)
            try check(tier.percent, "discount_tiers[\(index)].percent", 0...100)
            if index > 0, tier.fromHours <= discountTiers[index - 1].fromHours {
                throw APIError.invalidField("discount_tiers[\(index)].from_hours", "must be above the previous tier's (tiers go lowest first)")
            }
        }
        try check(horizonDays, "horizon_days", 1...Self.horizonLimit)
        try check(longestBookingHours, "longest_booking_hours", 1...Self.durationLimit)
        return self
    }
}
