import Configuration
import GuildCore
import GuildServiceKit

/// The booking service's own settings, on top of the common ones. Prices, refunds and limits are
/// only the first ones: admins change them while booking runs (``BookingConfig``).
struct BookingSettings: Sendable {
    /// Volume discounts of price estimates (`BOOKING_DISCOUNTS`, `hours:percent,…`; default `10:10`).
    var pricing: Pricing
    /// The rate of estimates that name no service (`BOOKING_BASE_PRICE_CENTS`, per hour; default 100).
    var basePricePerHour: Money
    /// What a cancellation after the start gives back (`BOOKING_REFUND_AFTER_START`: `unused_hours` or `none`).
    var refunds: RefundPolicy
    /// How often the lifecycle job looks for bookings to start or end (`BOOKING_LIFECYCLE_INTERVAL_MS`, default 1000).
    var lifecycleInterval: Duration

    /// The settings in force until an admin changes them.
    var defaults: BookingConfig {
        BookingConfig(
            basePrice: basePricePerHour,
            discountTiers: pricing.discounts.reversed().map { BookingConfig.DiscountTier(fromHours: $0.minimumHours, percent: $0.percent) },
            refundAfterStart: refunds.afterStart, horizonDays: BookingConfig.standardHorizonDays,
            longestBookingHours: BookingConfig.standardLongestBookingHours
        )
    }

    init(reader: ConfigReader) throws {
        let rules = reader.string(forKey: "booking.discounts", default: "10:10")
        guard let pricing = Pricing(rules: rules) else {
            throw ConfigurationError.invalid("BOOKING_DISCOUNTS", "expected hours:percent pairs separated by commas, such as 10:10,50:15")
        }
        self.pricing = pricing
        self.basePricePerHour = Money(cents: try reader.int(forKey: "booking.base.price.cents", default: 100, in: 0...10_000_000))
        let afterStart = reader.string(forKey: "booking.refund.after.start", default: RefundPolicy.AfterStart.unusedHours.rawValue)
        guard let rule = RefundPolicy.AfterStart(rawValue: afterStart) else {
            throw ConfigurationError.invalid("BOOKING_REFUND_AFTER_START", "must be unused_hours or none")
        }
        self.refunds = RefundPolicy(afterStart: rule)
        self.lifecycleInterval = .milliseconds(try reader.int(forKey: "booking.lifecycle.interval.ms", default: 1000, in: 50...60_000))
    }
}
