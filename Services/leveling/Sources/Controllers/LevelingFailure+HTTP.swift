import Foundation
import GuildCore

/// The leveling service's refusals as the contract names them, and the answer to each ``LevelingFailure``.
extension APIError {
    /// The caller's account has no Discord id linked, so it has no profile.
    static let discordNotLinked = APIError(status: 404, code: "discord_not_linked", message: "link a Discord account to have a profile")
    /// No profile for that Discord id.
    static let profileNotFound = APIError(status: 404, code: "profile_not_found", message: "no profile for that Discord id")
    /// No tool with that id.
    static let toolNotFound = APIError(status: 404, code: "tool_not_found", message: "tool not found")
    /// A tool with that id exists.
    static let toolExists = APIError.conflict("tool_exists", "a tool with that id exists")
    /// Today's daily bonus is claimed already.
    static func dailyClaimed(nextClaimAt: Date) -> APIError {
        .conflict("daily_already_claimed", "the daily bonus is claimed for today; the next one from \(RFC3339.format(nextClaimAt))")
    }
    /// An event id names another member's event.
    static let eventIdTaken = APIError.conflict("event_id_conflict", "that event_id was used at the same moment for another member")
}

extension LevelingFailure: APIErrorConvertible {
    var apiError: APIError {
        switch self {
        case .profileNotFound: .profileNotFound
        case .toolNotFound: .toolNotFound
        case .toolExists: .toolExists
        case .eventIdTaken: .eventIdTaken
        }
    }
}
