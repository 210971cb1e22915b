import Foundation
import GuildCore

/// The notify service's own refusals, named once.
extension APIError {
    // MARK: Push

    /// Push is off: `FCM_SERVICE_ACCOUNT_FILE` is not set. Retrying does not help, so no `Retry-After`.
    static let pushDisabled = APIError(
        status: 503, code: "push_disabled", message: "push notifications are off: no FCM service account is configured"
    )
    /// The caller has no such push token.
    static let pushTokenNotFound = APIError(status: 404, code: "push_token_not_found", message: "you have no such push token")
    /// FCM refused the message for good (a bad request, a permission it lacks …); `said` is FCM's answer.
    static func fcmRefused(_ said: String) -> APIError {
        APIError(status: 502, code: "fcm_refused", message: "FCM refused the message: \(said)")
    }
    /// FCM says the token is dead; it has been dropped.
    static func fcmTokenRejected(_ said: String) -> APIError {
        APIError(status: 502, code: "fcm_token_rejected", message: "FCM no longer accepts that token (\(said)); it has been dropped")
    }
    /// FCM (or Google's token endpoint) could not take the message now; `said` is what went wrong.
    static func fcmUnavailable(_ said: String, retryAfter: Int = 5) -> APIError {
        APIError(status: 503, code: "fcm_unavailable", message: "FCM could not take the message now: \(said)", retryAfter: max(1, retryAfter))
    }
}
