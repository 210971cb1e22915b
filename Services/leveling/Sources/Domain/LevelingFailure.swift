/// Why leveling's storage refused a change; the routes answer each as the contract says
/// (`LevelingFailure+HTTP.swift`).
enum LevelingFailure: Error, Equatable {
    case profileNotFound
    case toolNotFound
    case toolExists
    /// An event id names another member's event.
    case eventIdTaken
}
