import Foundation

/// What cancelling a booking gives back: everything before it starts; after it has started,
/// the whole hours not yet used (`BOOKING_REFUND_AFTER_START=unused_hours`, the default) or
/// nothing (`none`). Ended and cancelled bookings cannot be cancelled.
struct RefundPolicy: Sendable, Equatable {
    /// The rule once a booking has started.
    enum AfterStart: String, Codable, Sendable, CaseIterable {
        case unusedHours = "unused_hours"
        case none
    }

    var afterStart: AfterStart

    /// Hours to give back for cancelling `booking` at `now`, or nil when it cannot be cancelled.
    func refund(for booking: Booking, at now: Date) -> Int? {
        guard booking.status == .scheduled || booking.status == .active, now < booking.endTime else { return nil }
        if now < booking.startTime { return booking.hoursCharged }
        switch afterStart {
        case .none:
            return 0
        case .unusedHours:
            let unused = Int((booking.endTime.timeIntervalSince(now) / 3600).rounded(.down))
            return min(max(unused, 0), booking.hoursCharged)
        }
    }

    /// `booking` as answered: with what cancelling it at `now` would give back.
    func shown(on booking: Booking, at now: Date) -> Booking {
        var shown = booking
        shown.refundIfCancelled = refund(for: booking, at: now)
        return shown
    }
}
