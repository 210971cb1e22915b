@testable import BookingService
import Foundation
import GuildCore
import GuildServiceKit
import GuildTestSupport
import Testing

/// The booking service's pure rules: prices, refunds, limits.
@Suite("booking: pricing, refunds and request rules", .watched)
struct BookingRulesTests {
    func booking(start: Date, hours: Int, status: Booking.Status = .scheduled) -> Booking {
        Booking(
            id: UUID(), userId: UUID(), service: "bo", realm: "EU", gameName: "x", vmId: "vm0", startTime: start,
            endTime: start.addingTimeInterval(TimeInterval(hours) * 3600), duration: hours, hoursCharged: hours, hoursRefunded: nil,
            status: status, createdAt: start
        )
    }

    @Test func tenHoursOrMoreGetTenPercentOff() {
        let pricing = Pricing.standard
        #expect(pricing.estimate(hours: 9, pricePerHour: Money(cents: 150)) == .init(
            basePrice: Money(cents: 150), hours: 9, totalPrice: Money(cents: 1350), discountApplied: 0, finalPrice: Money(cents: 1350)))
        #expect(pricing.estimate(hours: 10, pricePerHour: Money(cents: 150)) == .init(
            basePrice: Money(cents: 150), hours: 10, totalPrice: Money(cents: 1500), discountApplied: 10, finalPrice: Money(cents: 1350)))
    }

    @Test func theLargestDiscountAHourCountQualifiesForApplies() throws {
        let pricing = try #require(Pricing(rules: "10:10, 50:15"))
        #expect(pricing.estimate(hours: 49, pricePerHour: Money(cents: 100)).discountApplied == 10)
        #expect(pricing.estimate(hours: 50, pricePerHour: Money(cents: 100)).discountApplied == 15)
        // 15 % of 7.77 is 1.1655: rounded to the nearest cent.
        #expect(pricing.estimate(hours: 777, pricePerHour: Money(cents: 1)).finalPrice == Money(cents: 660))
        #expect(Pricing(rules: "")?.estimate(hours: 100, pricePerHour: Money(cents: 1)).discountApplied == 0)
        #expect(Pricing(rules: "10") == nil)
        #expect(Pricing(rules: "10:101") == nil)
        #expect(Pricing(rules: "0:5") == nil)
    }

    @Test func beforeTheStartEverythingComesBack() {
        let now = Date()
        let policy = RefundPolicy(afterStart: .unusedHours)
        #expect(policy.refund(for: booking(start: now.addingTimeInterval(60), hours: 5), at: now) == 5)
        #expect(RefundPolicy(afterStart: .none).refund(for: booking(start: now.addingTimeInterval(60), hours: 5), at: now) == 5)
    }

    @Test func afterTheStartOnlyUnusedWholeHoursComeBack() {
        let now = Date()
        let started = booking(start: now.addingTimeInterval(-90 * 60), hours: 4, status: .active)
        #expect(RefundPolicy(afterStart: .unusedHours).refund(for: started, at: now) == 2)
        #expect(RefundPolicy(afterStart: .none).refund(for: started, at: now) == 0)
        // Still `scheduled` because the lifecycle job has not run yet: time decides, not the status.
        let late = booking(start: now.addingTimeInterval(-30 * 60), hours: 1)
        #expect(RefundPolicy(afterStart: .unusedHours).refund(for: late, at: now) == 0)
    }

    @Test func endedAndCancelledBookingsCannotBeCancelled() {
        let now = Date()
        let policy = RefundPolicy(afterStart: .unusedHours)
        #expect(policy.refund(for: booking(start: now.addingTimeInterval(60), hours: 2, status: .cancelled), at: now) == nil)
        #expect(policy.refund(for: booking(start: now.addingTimeInterval(-3 * 3600), hours: 2, status: .completed), at: now) == nil)
        #expect(policy.refund(for: booking(start: now.addingTimeInterval(-3 * 3600), hours: 2, status: .active), at: now) == nil)
    }

    @Test func aWindowMustStartInTheFutureWithinTheHorizon() throws {
        let now = Date()
        let limits = BookingConfig.standard
        #expect(throws: APIError.self) { try BookingRules.checkWindow(start: now, duration: 1, now: now, limits: limits) }
        #expect(throws: APIError.self) { try BookingRules.checkWindow(start: now.addingTimeInterval(60), duration: 0, now: now, limits: limits) }
        #expect(throws: APIError.self) { try BookingRules.checkWindow(start: now.addingTimeInterval(60), duration: 73, now: now, limits: limits) }
        #expect(throws: APIError.self) { try BookingRules.checkWindow(start: now.addingTimeInterval(181 * 86400), duration: 1, now: now, limits: limits) }
        try BookingRules.checkWindow(start: now.addingTimeInterval(180 * 86400), duration: 72, now: now, limits: limits)
        var shorter = limits
        shorter.horizonDays = 7
        shorter.longestBookingHours = 4
        #expect(throws: APIError.bookingTooLong(field: "duration", longest: 4)) {
            try BookingRules.checkWindow(start: now.addingTimeInterval(60), duration: 5, now: now, limits: shorter)
        }
        #expect(throws: APIError.bookingTooFarAhead(field: "start_time", days: 7)) {
            try BookingRules.checkWindow(start: now.addingTimeInterval(8 * 86400), duration: 1, now: now, limits: shorter)
        }
        #expect(throws: APIError.invalidField("duration", "must be a whole number of hours from 1 to 720")) {
            try BookingRules.checkWindow(start: now.addingTimeInterval(60), duration: 721, now: now, limits: shorter)
        }
    }

    @Test func settingsWithTiersOutOfOrderOrOverAHundredPercentAreRefusedNamingTheField() throws {
        var config = BookingConfig.standard
        config.discountTiers = [.init(fromHours: 10, percent: 10), .init(fromHours: 5, percent: 20)]
        #expect(throws: APIError.invalidField("discount_tiers[1].from_hours", "must be above the previous tier's (tiers go lowest first)")) {
            try config.checked()
        }
        config.discountTiers = [.init(fromHours: 10, percent: 101)]
        #expect(throws: APIError.invalidField("discount_tiers[0].percent", "must be 0 to 100")) { try config.checked() }
        config.discountTiers = [.init(fromHours: 10, percent: 10), .init(fromHours: 50, percent: 25)]
        config.horizonDays = 0
        #expect(throws: APIError.invalidField("horizon_days", "must be 1 to 3650")) { try config.checked() }
        config.horizonDays = 30
        #expect(try config.checked() == config)
        #expect(config.pricing.estimate(hours: 60, pricePerHour: Money(cents: 100)).discountApplied == 25)
        #expect(config.pricing.estimate(hours: 49, pricePerHour: Money(cents: 100)).discountApplied == 10)
    }

    @Test func catalogueIdsAndTextsAreChecked() throws {
        #expect(BookingRules.isIdentifier("vm0"))
        #expect(BookingRules.isIdentifier("pack_10"))
        #expect(!BookingRules.isIdentifier("VM0"))
        #expect(!BookingRules.isIdentifier("-vm"))
        #expect(!BookingRules.isIdentifier(String(repeating: "a", count: 33)))
        #expect(!BookingRules.isIdentifier("vm\u{0}"))
        #expect(try BookingRules.text("  EU  ", field: "realm") == "EU")
        #expect(throws: APIError.invalidField("realm", "must not contain control characters")) { try BookingRules.text("E\u{0}U", field: "realm") }
        #expect(throws: APIError.self) { try BookingRules.text("   ", field: "realm") }
    }

    @Test func moneyHasAtMostTwoDecimals() throws {
        struct Body: Decodable { var price: Money }
        #expect(try JSONDecoder().decode(Body.self, from: Data(#"{"price":9.99}"#.utf8)).price == Money(cents: 999))
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Body.self, from: Data(#"{"price":9.999}"#.utf8)) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Body.self, from: Data(#"{"price":-1}"#.utf8)) }
        #expect(String(decoding: try JSONEncoder().encode(Money(cents: 999)), as: UTF8.self) == "9.99")
    }

    @Test func amountsPrintAsExactDecimals() throws {
        // Every cent up to 200.00, then a stride through the whole range up to 100000.00.
        let amounts = Array(0...20_000) + Array(stride(from: 20_001, through: 10_000_000, by: 4_999)) + [10_000_000]
        let encoder = JSONEncoder()
        for cents in amounts {
            let fraction = cents % 100
            let expected = fraction == 0 ? "\(cents / 100)"
                : fraction % 10 == 0 ? "\(cents / 100).\(fraction / 10)"
                : "\(cents / 100).\(fraction < 10 ? "0" : "")\(fraction)"
            let printed = String(decoding: try encoder.encode(Money(cents: cents)), as: UTF8.self)
            guard printed == expected else {
                Issue.record("\(cents) cents printed as \(printed), expected \(expected)")
                return
            }
        }
    }

    @Test func timestampsAcceptFractionsAndIdsSortByTime() throws {
        let whole = try #require(RFC3339.parse("2026-11-22T10:30:00Z"))
        #expect(RFC3339.parse("2026-11-22T10:30:00.000Z") == whole)
        #expect(RFC3339.parse("2026-11-22T12:30:00+02:00") == whole)
        #expect(RFC3339.parse("tomorrow") == nil)
        #expect(RFC3339.format(whole) == "2026-11-22T10:30:00Z")
        let earlier = UUID.timeOrdered(at: whole)
        let later = UUID.timeOrdered(at: whole.addingTimeInterval(0.002))
        #expect(earlier.uuidString < later.uuidString)
        #expect(earlier.uuidString.dropFirst(14).first == "7")
    }
}

extension BookingConfig {
    /// The environment's defaults: 1.00 an hour, 10 % off from 10 hours, unused hours back, 180 days, 72 hours.
    static let standard = BookingConfig(
        basePrice: Money(cents: 100), discountTiers: [DiscountTier(fromHours: 10, percent: 10)], refundAfterStart: .unusedHours,
        horizonDays: 180, longestBookingHours: 72
    )
}
