/// Why auth's storage refused an account change; the routes answer each as the contract says
/// (`AccountFailure+HTTP.swift`).
enum AccountFailure: Error, Equatable {
    case usernameTaken
    case discordIdTaken
    /// A row the statement wrote did not come back.
    case notWritten
}
