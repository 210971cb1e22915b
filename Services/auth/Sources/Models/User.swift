import Foundation
import GuildCore
import Hummingbird

/// An account, local or linked to Discord.
struct User: Sendable, Equatable {
    var id: UUID
    var username: String
    var passwordHash: String?
    var role: Role
    var discordId: String?
    /// The account's name on Discord (linked accounts), as of its last Discord login.
    var discordUsername: String? = nil
    var avatar: String?
    var disabled: Bool
    var createdAt: Date
}

extension User {
    /// `text` as a username (surrounding spaces dropped): 3 to 32 letters, digits, `.`, `_` or `-`;
    /// otherwise a 400 naming `username`.
    static func validUsername(_ text: String) throws -> String {
        let username = text.trimmingCharacters(in: .whitespaces)
        guard (3...32).contains(username.count), username.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }) else {
            throw APIError.invalidField("username", "must be 3 to 32 letters, digits, '.', '_' or '-'")
        }
        return username
    }
}

/// A user as the API shows it (`GET /api/users/me`, login's `user`).
struct UserResponse: ResponseEncodable, Equatable {
    var userId: UUID
    var discordId: String?
    var discordUsername: String?
    var username: String
    var avatar: String?
    var role: Role
    var permissions: [String]
    var disabled: Bool
    var createdAt: Date

    init(_ user: User) {
        self.userId = user.id
        self.discordId = user.discordId
        self.discordUsername = user.discordUsername
        self.username = user.username
        self.avatar = user.avatar
        self.role = user.role
        self.permissions = Permissions.of(user.role)
        self.disabled = user.disabled
        self.createdAt = user.createdAt
    }
}

/// What each role may do, as the frontends show it.
enum Permissions {
    static func of(_ role: Role) -> [String] {
        switch role {
        case .admin: ["users:read", "users:write", "tickets:staff", "stats:read", "booking:admin", "leveling:admin", "notify:broadcast"]
        case .moderator: ["users:read", "tickets:staff", "stats:read"]
        case .user: []
        }
    }
}
