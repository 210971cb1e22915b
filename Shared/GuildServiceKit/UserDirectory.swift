import AsyncHTTPClient
import Foundation
import GuildCore
import NIOCore
import Synchronization

/// Asks auth, on its private listener, whether a user exists, so a write that names a user who
/// does not exist is refused by the service that takes it (auth owns the accounts; no other
/// service reads its tables).
public struct UserDirectory: Sendable {
    /// auth's private listener (`AUTH_INTERNAL_URL`).
    let baseURL: String
    /// The shared secret of `/internal/*`.
    let secret: String
    /// How long auth may take to answer.
    let timeout: Duration
    /// Accounts found lately, so a chat does not ask auth once per message.
    private let recent = RecentAccounts()

    /// Creates a directory that asks auth at `baseURL`.
    public init(baseURL: String, secret: String, timeout: Duration = .seconds(2)) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.secret = secret
        self.timeout = timeout
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
    }

    /// The account with `id`; a 503 (`auth`) when auth cannot be asked.
    public func account(_ id: UUID) async throws -> Account {
        var request = HTTPClientRequest(url: "\(baseURL)/internal/users/by-id/\(id.uuidString.lowercased())")
        request.headers.add(name: "Authorization", value: "Bearer \(secret)")
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: TimeAmount(timeout))
            let body = try await response.body.collect(upTo: 64 * 1024)
            guard response.status == .ok else { throw APIError.unavailable("auth (HTTP \(response.status.code))") }
            return try GuildJSON.decoder.decode(Account.self, from: Data(buffer: body))
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.unavailable("auth")
        }
    }

    /// Whether an account with `id` exists.
    public func exists(_ id: UUID) async throws -> Bool {
        try await account(id).userFound
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
