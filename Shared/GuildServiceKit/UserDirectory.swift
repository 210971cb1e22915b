import AsyncHTTPClient
import Foundation
import GuildCore
import NIOCore

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

    /// Creates a directory that asks auth at `baseURL`.
    public init(baseURL: String, secret: String, timeout: Duration = .seconds(2)) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.secret = secret
        self.timeout = timeout
    }

    /// What auth answers about one account.
    public struct Account: Codable, Sendable, Equatable {
        /// False when no account has that id.
        public var userFound: Bool
        /// The account's role, when found.
        public var role: Role?
        /// Whether the account is disabled, when found.
        public var disabled: Bool?
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
