import Foundation
import GuildCore
import Synchronization

/// Asks auth, on its private listener, whether a user exists, so a write that names a user who
/// does not exist is refused by the service that takes it (auth owns the accounts; no other
/// service reads its tables).
public struct UserDirectory: Sendable {
    /// auth's private listener.
    let auth: InternalClient
    /// Accounts found lately, so a chat does not ask auth once per message.
    private let recent = RecentAccounts()

    /// Creates a directory that asks auth at `baseURL` (`AUTH_INTERNAL_URL`).
    public init(baseURL: String, secret: String) {
        self.auth = InternalClient(service: "auth", baseURL: baseURL, secret: secret)
    }

    /// The account with `id`, from what auth said within the last minute when it can: for
    /// names and avatars shown beside a message, not for decisions about access.
    public func recentAccount(_ id: UUID) async throws -> Account {
        if let known = recent.account(id) { return known }
        let account = try await account(id)
        if account.userFound { recent.remember(account, for: id) }
        return account
    }

    /// What auth answers about one account.
    public struct Account: Codable, Sendable, Equatable {
        /// False when no account has that id.
        public var userFound: Bool
        /// The account's role, when found.
        public var role: Role?
        /// Whether the account is disabled, when found.
        public var disabled: Bool?
        /// The name shown for the account, when found.
        public var username: String?
        /// Its avatar (a Discord avatar URL), if any.
        public var avatar: String?
        /// The Discord id linked to the account, if any.
        public var discordId: String?
    }

    /// The account with `id`; a 503 (`auth`) when auth cannot be asked.
    public func account(_ id: UUID) async throws -> Account {
        let (status, account) = try await auth.get("/internal/users/by-id/\(id.uuidString.lowercased())", as: Account.self)
        guard let account else { throw APIError.unavailable("auth (HTTP \(status))") }
        return account
    }

    // MARK: - By Discord id

    /// The Guildhall account linked to a Discord member.
    public struct LinkedAccount: Sendable, Equatable {
        /// The account's id.
        public var userId: UUID
        /// The account's role.
        public var role: Role
        /// The name shown for the account.
        public var username: String
        /// Whether the account is disabled.
        public var disabled: Bool
    }

    /// The account linked to the Discord member `discordId`, or nil when none is (a text that is
    /// not a Discord id names no member, so auth is not asked); a 503 (`auth`) when auth cannot be asked.
    public func accountLinked(toDiscord discordId: String) async throws -> LinkedAccount? {
        guard DiscordId.isValid(discordId) else { return nil }
        let (status, member) = try await auth.get("/internal/users/\(discordId)", as: Member.self)
        guard let member else { throw APIError.unavailable("auth (HTTP \(status))") }
        guard member.userFound, let userId = member.userId, let role = member.role, let username = member.username else { return nil }
        return LinkedAccount(userId: userId, role: role, username: username, disabled: member.disabled ?? false)
    }

    /// What auth answers about a Discord member (`GET /internal/users/{discord_id}`).
    private struct Member: Decodable {
        var userFound: Bool
        var userId: UUID?
        var role: Role?
        var username: String?
        var disabled: Bool?
    }
}

/// Accounts auth described within the last minute, at most 10,000 of them.
private final class RecentAccounts: Sendable {
    private let entries = Mutex<[UUID: (account: UserDirectory.Account, at: ContinuousClock.Instant)]>([:])

    func account(_ id: UUID) -> UserDirectory.Account? {
        entries.withLock { entries in
            guard let entry = entries[id], entry.at.duration(to: .now) < .seconds(60) else { return nil }
            return entry.account
        }
    }

    func remember(_ account: UserDirectory.Account, for id: UUID) {
        entries.withLock { entries in
            if entries.count >= 10_000 { entries.removeAll(keepingCapacity: true) }
            entries[id] = (account, .now)
        }
    }
}
