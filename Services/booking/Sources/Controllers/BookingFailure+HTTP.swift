import Foundation
import GuildCore

/// The booking service's refusals as the contract names them, and the answer to each ``BookingFailure``.
extension APIError {
    /// No service with that id.
    static func serviceNotFound(_ id: String) -> APIError { APIError(status: 404, code: "service_not_found", message: "service \(id) not found") }
    /// No VM with that id.
    static func vmNotFound(_ id: String) -> APIError { APIError(status: 404, code: "vm_not_found", message: "VM \(id) not found") }
    /// No pack with that id.
    static func packNotFound(_ id: String) -> APIError { APIError(status: 404, code: "pack_not_found", message: "pack \(id) not found") }
    /// No account with that id (auth says so).
    static func userNotFound(_ id: UUID) -> APIError {
        APIError(status: 404, code: "user_not_found", message: "user \(id.uuidString.lowercased()) not found")
    }
    /// No booking with that id that the caller may see.
    static let bookingNotFound = APIError.notFound("booking")
    /// The service takes no bookings now.
    static func serviceUnavailable(_ id: String) -> APIError { .conflict("service_unavailable", "service \(id) is not taking bookings") }
    /// The VM is in maintenance.
    static func vmInMaintenance(_ id: String) -> APIError { .conflict("vm_in_maintenance", "VM \(id) is in maintenance and takes no bookings") }
    /// Another live booking overlaps the window on that VM.
    static func slotTaken(_ vmId: String) -> APIError { .conflict("slot_taken", "VM \(vmId) is already booked for part of that time") }
    /// No VM is free for the window.
    static let noVMAvailable = APIError.conflict("no_vm_available", "no VM is free for that time")
    /// The booking is cancelled or over.
    static func bookingNotCancellable(alreadyCancelled: Bool) -> APIError {
        .conflict("booking_not_cancellable", "the booking is \(alreadyCancelled ? "already cancelled" : "over")")
    }
    /// Only the owner or an admin cancels.
    static let cancelNotAllowed = APIError.forbidden("only the owner or an admin may cancel a booking")
    /// Longer than the settings' `longest_booking_hours` allow (within what the contract allows).
    static func bookingTooLong(field: String, longest: Int) -> APIError {
        .unprocessable("booking_too_long", "\(field): the longest booking is \(longest) hours")
    }
    /// Further ahead than the settings' `horizon_days` allow.
    static func bookingTooFarAhead(field: String, days: Int) -> APIError {
        .unprocessable("booking_too_far_ahead", "\(field): must be at most \(days) days ahead")
    }
    /// The balance does not cover the charge.
    static func insufficientHours(needed: Int, balance: Int) -> APIError {
        .unprocessable("insufficient_hours", "this needs \(needed) hours and the balance is \(balance)")
    }
    /// A service with that id exists.
    static func serviceExists(_ id: String) -> APIError { .conflict("service_exists", "service \(id) exists already") }
    /// A pack with that id exists.
    static func packExists(_ id: String) -> APIError { .conflict("pack_exists", "pack \(id) exists already") }
    /// A VM with that id exists.
    static func vmExists(_ id: String) -> APIError { .conflict("vm_exists", "VM \(id) exists already") }
}

extension BookingFailure: APIErrorConvertible {
    var apiError: APIError {
        switch self {
        case .serviceNotFound(let id): .serviceNotFound(id)
        case .serviceUnavailable(let id): .serviceUnavailable(id)
        case .vmNotFound(let id): .vmNotFound(id)
        case .vmInMaintenance(let id): .vmInMaintenance(id)
        case .slotTaken(let vm): .slotTaken(vm)
        case .noVMAvailable: .noVMAvailable
        case .bookingNotFound: .bookingNotFound
        case .cancelNotAllowed: .cancelNotAllowed
        case .notCancellable(let alreadyCancelled): .bookingNotCancellable(alreadyCancelled: alreadyCancelled)
        case .insufficientHours(let needed, let balance): .insufficientHours(needed: needed, balance: balance)
        case .packNotFound(let id): .packNotFound(id)
        case .serviceExists(let id): .serviceExists(id)
        case .packExists(let id): .packExists(id)
        case .vmExists(let id): .vmExists(id)
        case .notWritten: .internalError
        }
    }
}
