import Hummingbird

/// Price estimates: hours × the service's hourly price, less the largest volume discount
/// the hours qualify for (`BOOKING_DISCOUNTS`, default 10 % off from 10 hours).
struct Pricing: Sendable, Equatable {
    /// `percent` off from `minimumHours` hours.
    struct Discount: Sendable, Equatable {
        var minimumHours: Int
        var percent: Int
    }

    /// The estimate `GET /api/booking/price` answers.
    struct Estimate: ResponseEncodable, Sendable, Equatable {
        var basePrice: Money
        var hours: Int
        var totalPrice: Money
        /// The discount in percent (0 when none applies).
        var discountApplied: Int
        var finalPrice: Money
    }

    /// Estimates take 1 to 1000 hours.
    static let hourRange = 1...1000

    /// The discounts, largest threshold first.
    let discounts: [Discount]

    init(discounts: [Discount]) {
        self.discounts = discounts.sorted { $0.minimumHours > $1.minimumHours }
    }

    /// The default rule of the contract: 10 % off from 10 hours.
    static let standard = Pricing(discounts: [Discount(minimumHours: 10, percent: 10)])

    /// Parses `minimumHours:percent` pairs separated by commas (`10:10,50:15`); empty means no discounts.
    init?(rules: String) {
        var parsed: [Discount] = []
        for rule in rules.split(separator: ",") {
            let parts = rule.split(separator: ":").map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let hours = Int(parts[0]), let percent = Int(parts[1]), hours >= 1, (0...100).contains(percent) else { return nil }
            parsed.append(Discount(minimumHours: hours, percent: percent))
        }
        self.init(discounts: parsed)
    }

    /// The estimate for `hours` hours at `pricePerHour`; the discount is rounded to the nearest cent.
    func estimate(hours: Int, pricePerHour: Money) -> Estimate {
        let total = pricePerHour.cents * hours
        let percent = discounts.first { hours >= $0.minimumHours }?.percent ?? 0
        let discount = (total * percent + 50) / 100
        return Estimate(basePrice: pricePerHour, hours: hours, totalPrice: Money(cents: total), discountApplied: percent, finalPrice: Money(cents: total - discount))
    }
}
