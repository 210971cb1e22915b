/// Why the booking service's storage refused a change; the routes answer each as the contract
/// says (`BookingFailure+HTTP.swift`).
enum BookingFailure: Error, Equatable {
    case serviceNotFound(String)
    case serviceUnavailable(String)
    case vmNotFound(String)
    case vmInMaintenance(String)
    case slotTaken(vm: String)
    case noVMAvailable
    case bookingNotFound
    /// Only the owner or an admin cancels (staff who are neither see it, so are told why).
    case cancelNotAllowed
    case notCancellable(alreadyCancelled: Bool)
    case insufficientHours(needed: Int, balance: Int)
    case packNotFound(String)
    case serviceExists(String)
    case packExists(String)
    case vmExists(String)
    /// A row the statement wrote did not come back.
    case notWritten
}
