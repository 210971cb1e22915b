import Hummingbird

/// What the bot is told about one event.
struct AwardResult: ResponseCodable, Sendable, Equatable {
    var xpAwarded: Int
    var totalXp: Int64
    var level: Int
    var leveledUp: Bool
}
