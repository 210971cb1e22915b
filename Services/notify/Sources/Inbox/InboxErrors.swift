import GuildCore

/// The inbox's and the bot API's refusals, named once.
extension APIError {
    /// No entry with that id in the caller's inbox.
    static let notificationNotFound = APIError(status: 404, code: "notification_not_found", message: "notification not found")
    /// No account is linked to that Discord member.
    static let memberNotFound = APIError(status: 404, code: "member_not_found", message: "no account is linked to that Discord id")
}
