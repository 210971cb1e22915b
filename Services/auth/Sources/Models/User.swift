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
    var avatar: String?
    var disabled: Bool
    var createdAt: Date
}

/// A user as the API shows it (`GET /api/users/me`, login's `user`).
struct UserResponse: ResponseCodable, Equatable {
    var userId: String
    var discordId: String?
    var username: String
    var avatar: String?
    var role: Role
    var permissions: [String]
    var disabled: Bool
    var createdAt: Date

    init(_ user: User) {
        self.userId = user.id.uuidString.lowercased()
        self.discordId = user.discordId
        self.username = user.username
        self.avatar = user.avatar
        self.role = user.role
        self.permissions = Permissions.of(user.role)
        self.disabled = user.disabled
        self.createdAt = user.createdAt
    }

    enum CodingKeys: String, CodingKey {
        case username, avatar, role, permissions, disabled
        case userId = "user_id"
        case discordId = "discord_id"
        case createdAt = "created_at"
    }

    /// Absent values are sent as `null`, never left out.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(userId, forKey: .userId)
        try container.encode(discordId, forKey: .discordId)
        try container.encode(username, forKey: .username)
        try container.encode(avatar, forKey: .avatar)
        try container.encode(role, forKey: .role)
        try container.encode(permissions, forKey: .permissions)
        try container.encode(disabled, forKey: .disabled)
        try container.encode(createdAt, forKey: .createdAt)
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
