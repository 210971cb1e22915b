import GuildCore

/// The auth service's refusals as the contract names them, and the answer to each ``AccountFailure``.
extension APIError {
    /// Wrong username or password; the same answer for both, so names cannot be probed.
    static let invalidCredentials = APIError(status: 401, code: "invalid_credentials", message: "wrong username or password")
    /// The account is disabled.
    static let accountDisabled = APIError(status: 403, code: "account_disabled", message: "this account is disabled")
    /// The exchange's `code_verifier` is missing or does not answer the login's `code_challenge` (the code is spent).
    static func invalidGrant(_ message: String) -> APIError { APIError(status: 400, code: "invalid_grant", message: message) }
    /// The username is taken.
    static let usernameTaken = APIError(status: 409, code: "username_taken", message: "that username is already taken")
    /// No user with that id (or the caller may not see them).
    static let userNotFound = APIError.notFound("user")
    /// The current password given with a password change is not the account's: a 403, not a
    /// 401, since the caller's token is good (a client must not take it for a logout).
    static let wrongCurrentPassword = APIError(status: 403, code: "invalid_credentials", message: "current_password is not the account's password")
    /// A password change of an account that has a password, without it.
    static let currentPasswordRequired = APIError(
        status: 403, code: "invalid_credentials", message: "current_password is required: the account has a password"
    )
    /// The password changed while a change was being checked against the old one.
    static let passwordChangedMeanwhile = APIError.conflict("password_changed", "the password was changed meanwhile; try again with the new one")
    /// No session with that id that the caller may see.
    static let sessionNotFound = APIError.notFound("session")
}

extension AccountFailure: APIErrorConvertible {
    var apiError: APIError {
        switch self {
        case .usernameTaken: .usernameTaken
        case .discordIdTaken: .conflict("discord_id_taken", "that Discord account is linked to another user")
        case .notWritten: .internalError
        }
    }
}
