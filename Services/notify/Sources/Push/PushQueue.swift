import Foundation
import Logging
import PostgresNIO

/// The durable queue of push notifications (`push_jobs`), worked off by ``PushSender`` on
/// every replica.
///
/// Code that writes something a user should hear about on their phone calls
/// ``enqueue(userId:kind:title:body:data:on:logger:)`` inside its own transaction, so the push
/// is queued exactly when the change commits.
struct PushQueue: Sendable {
    /// Whether push is on (an FCM service account is configured); when off, nothing is queued.
    let isEnabled: Bool

    /// The longest title and body a push carries (FCM allows about 4 KB in all); longer ones are cut.
    static let titleLimit = 200
    static let bodyLimit = 1000

    /// Keys FCM reserves in `data`; they are left out (and `kind` is always the job's own).
    static func isReserved(_ key: String) -> Bool {
        ["from", "notification", "message_type", "kind"].contains(key) || key.hasPrefix("google.") || key.hasPrefix("gcm.")
    }

    /// Queues a push notification to every device of `userId`, on `connection` — call it in the
    /// same transaction as the change it tells of (an inbox entry), so it goes out if and only if
    /// that commits. A no-op when push is off or the user has no registered device.
    ///
    /// ```swift
    /// try await push.enqueue(
    ///     userId: userId, kind: "ticket_reply", title: title, body: body,
    ///     data: ["notification_id": id.uuidString.lowercased()], on: connection, logger: logger
    /// )
    /// ```
    ///
    /// - Parameters:
    ///   - userId: the Guildhall user id (as in `push_tokens.user_id`).
    ///   - kind: what it is about (`ticket_reply`, `level_up` …); sent as `data.kind`.
    ///   - title: the notification's title (cut to 200 characters).
    ///   - body: its text (cut to 1000 characters).
    ///   - data: extra string values for the app; keys FCM reserves (`from`, `google.*` …) are dropped.
    func enqueue(
        userId: String, kind: String, title: String, body: String, data: [String: String] = [:],
        on connection: PostgresConnection, logger: Logger
    ) async throws {
        guard isEnabled else { return }
        let kept = data.filter { !Self.isReserved($0.key) }
        if kept.count < data.count {
            logger.warning("push data keys reserved by FCM left out", metadata: ["keys": "\(data.keys.filter(Self.isReserved).sorted())"])
        }
        let json = String(decoding: try JSONEncoder().encode(kept), as: UTF8.self)
        try await connection.query(
            """
            INSERT INTO push_jobs (user_id, kind, title, body, data)
            SELECT \(userId), \(kind), \(String(title.prefix(Self.titleLimit))), \(String(body.prefix(Self.bodyLimit))), \(json)::jsonb
            WHERE EXISTS (SELECT 1 FROM push_tokens WHERE user_id = \(userId))
            """,
            logger: logger
        )
    }
}
