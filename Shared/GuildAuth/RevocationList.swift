import Foundation
import Synchronization

/// Sessions and users whose access tokens must stop passing, kept in memory so that checking
/// a token needs no database or network call.
///
/// Entries arrive from the replica that revoked (at once), from Redis pub/sub (other replicas,
/// within a second) and from PostgreSQL when a replica starts or reconnects. A session entry
/// is needed only while an access token of that session can still be unexpired, so entries
/// older than `retention` are dropped.
public final class RevocationList: Sendable {
    /// One revocation, as published on the channel: `session:<id>` or `user:<id>`, with the
    /// reason after a second colon (`session:<id>:logged_out`) so live connections can say why
    /// they end; a payload without one is read with the case's default reason.
    public enum Entry: Sendable, Equatable {
        /// Every token of this session.
        case session(String, reason: SessionEndReason = .revoked)
        /// Every token of this user (disabled account).
        case user(String, reason: SessionEndReason = .disabled)
        /// The user is enabled again: lifts ``user(_:reason:)``.
        case userEnabled(String)

        /// Parses a channel payload.
        public init?(_ payload: String) {
            func split(_ rest: Substring) -> (id: String, reason: SessionEndReason?)? {
                let parts = rest.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                guard let id = parts.first, !id.isEmpty else { return nil }
                let reason = parts.count == 2 ? SessionEndReason(rawValue: String(parts[1])) : nil
                return (id.lowercased(), reason)
            }
            if payload.hasPrefix("user-enabled:") {
                guard let (id, _) = split(payload.dropFirst("user-enabled:".count)) else { return nil }
                self = .userEnabled(id)
            } else if payload.hasPrefix("session:") {
                guard let (id, reason) = split(payload.dropFirst("session:".count)) else { return nil }
                self = .session(id, reason: reason ?? .revoked)
            } else if payload.hasPrefix("user:") {
                guard let (id, reason) = split(payload.dropFirst("user:".count)) else { return nil }
                self = .user(id, reason: reason ?? .disabled)
            } else {
                return nil
            }
        }

        /// The channel payload.
        public var payload: String {
            switch self {
            case .session(let id, let reason): "session:\(id):\(reason.rawValue)"
            case .user(let id, let reason): "user:\(id):\(reason.rawValue)"
            case .userEnabled(let id): "user-enabled:\(id)"
            }
        }
    }

    /// The Redis channel revocations are published on.
    public static let channel = "guildhall:auth:revocations"

    private let state: Mutex<(sessions: [String: Date], users: Set<String>)>
    private let retention: TimeInterval

    /// `retention`: how long a session revocation must be remembered (the access token lifetime plus a margin).
    public init(retention: TimeInterval) {
        self.state = Mutex(([:], []))
        self.retention = retention
    }

    /// Records `entry`.
    public func add(_ entry: Entry, at date: Date = Date()) {
        state.withLock { state in
            switch entry {
            case .session(let id, _): state.sessions[id] = date
            case .user(let id, _): state.users.insert(id)
            case .userEnabled(let id): state.users.remove(id)
            }
        }
    }

    /// Merges what PostgreSQL says (revoked sessions and disabled users); `enabledUsers` are
    /// users no longer disabled.
    public func merge(sessions: [(String, Date)], disabledUsers: Set<String>, now: Date = Date()) {
        state.withLock { state in
            for (id, date) in sessions where now.timeIntervalSince(date) < retention { state.sessions[id] = date }
            state.users = disabledUsers
            state.sessions = state.sessions.filter { now.timeIntervalSince($0.value) < retention }
        }
    }

    /// Lifts a user revocation (account enabled again).
    public func remove(user id: String) {
        _ = state.withLock { $0.users.remove(id.lowercased()) }
    }

    /// Whether tokens of `sessionId` for `userId` are revoked.
    public func isRevoked(sessionId: String, userId: String) -> Bool {
        state.withLock { $0.sessions[sessionId] != nil || $0.users.contains(userId) }
    }
}

/// Why a session (and every live connection standing on it) ended, as live connections are told
/// in their last frame (`session_ended`).
public enum SessionEndReason: String, Sendable, Equatable, CaseIterable {
    /// The session's owner logged out.
    case loggedOut = "logged_out"
    /// The session was revoked (by its owner from another device, by an admin, or for a reused
    /// refresh token).
    case revoked
    /// The account was disabled.
    case disabled
    /// The account's password changed (its other sessions end).
    case passwordChanged = "password_changed"
    /// The account's role changed (access tokens carry it).
    case roleChanged = "role_changed"
    /// The access token the connection stands on expired and no fresh one was handed over.
    case tokenExpired = "token_expired"
    /// The connection handed over a token that is not valid, or is another user's.
    case invalidToken = "invalid_token"
}
