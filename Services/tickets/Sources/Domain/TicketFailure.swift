/// Why the desk's storage refused a change; the routes answer each as the contract says
/// (`TicketFailure+HTTP.swift`).
enum TicketFailure: Error, Equatable {
    /// No ticket with that id that the caller may see.
    case notFound
    case closed
    case disabled
    case unknownCategory([String])
    case tooManyOpen(limit: Int)
    /// A message with the same `client_message_id` is still being posted.
    case messageInFlight
    /// The desk's settings row is missing.
    case settingsMissing
}
