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
    /// One revocation, as published on the channel: `session:<id>` or `user:<id>`.
    public enum Entry: Sendable, Equatable {
        /// Every token of this session.
        case session(String)
        /// Every token of this user (disabled account).
        case user(String)
        /// The user is enabled again: lifts ``user(_:)``.
        case userEnabled(String)

        /// Parses a channel payload.
        public init?(_ payload: String) {
            if payload.hasPrefix("user-enabled:") {
                self = .userEnabled(String(payload.dropFirst("user-enabled:".count)).lowercased())
            } else if payload.hasPrefix("session:") {
                self = .session(String(payload.dropFirst("session:".count)).lowercased())
            } else if payload.hasPrefix("user:") {
                self = .user(String(payload.dropFirst("user:".count)).lowercased())
            } else {
                return nil
            }
        }

        /// The channel payload.
        public var payload: String {
            switch self {
            case .session(let id): "session:\(id)"
            case .user(let id): "user:\(id)"
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
            case .session(let id): state.sessions[id] = date
            case .user(let id): state.users.insert(id)
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
