import Crypto
import Foundation
import GuildAuth
import GuildCore
import GuildPostgres
import GuildServiceKit
import HTTPTypes
import Hummingbird

/// `/api/users` for staff: list and look up (moderator, admin); create and change (admin).
struct UserAdminController: Sendable {
    let users: UserRepository
    let admin: UserAdminRepository
    let hasher: PasswordHasher
    let revoker: Revoker

    var staffEndpoints: RouteCollection<StaffContext> {
        RouteCollection(context: StaffContext.self)
            .get(use: list)
            .get(":user_id", use: show)
    }

    var adminEndpoints: RouteCollection<AdminContext> {
        RouteCollection(context: AdminContext.self)
            .post(use: create)
            .patch(":user_id", use: change)
    }

    @Sendable func list(request: Request, context: StaffContext) async throws -> Page<UserResponse> {
        let page = try PageRequest(request)
        let query = request.uri.queryParameters["q"].map(String.init)
        if let query, query.count > 64 { throw APIError.invalidField("q", "must be at most 64 characters") }
        let found = try await admin.list(query: query.flatMap { $0.isEmpty ? nil : $0 }, after: page.cursor, limit: page.fetchLimit, logger: context.logger)
        return Page(fetched: found.map(UserResponse.init), request: page) { $0.userId }
    }

    @Sendable func show(request: Request, context: StaffContext) async throws -> UserResponse {
        let id = try context.parameters.uuid("user_id", or: .userNotFound)
        guard let user = try await users.find(id: id, logger: context.logger) else { throw APIError.userNotFound }
        return UserResponse(user)
    }

    struct CreateRequest: Decodable {
        var username: String
        var password: String
        var role: Role
    }

    @Sendable func create(request: Request, context: AdminContext) async throws -> Response {
        let body = try await request.decodeJSON(as: CreateRequest.self, context: context)
        let username = try User.validUsername(body.username)
        if let reason = PasswordHasher.validate(body.password, username: username) {
            throw APIError.invalidField("password", reason)
        }
        // A retry with the same Idempotency-Key answers the user made (the password counts by its digest).
        let passwordDigest = SHA256.hash(data: Data(body.password.utf8)).map { String(format: "%02x", $0) }.joined()
        let key = try IdempotencyKey.from(request, owner: context.caller.userId, fingerprint: "user|\(username)|\(body.role.rawValue)|\(passwordDigest)")
        let reply = try await users.create(username: username, passwordHash: try await hasher.hash(body.password), role: body.role, key: key, logger: context.logger)
        context.logger.info("user created", metadata: ["username": "\(username)", "by": "\(context.identity.userId)", "replayed": "\(reply.replayed)"])
        return reply.response
    }

    struct ChangeRequest: Decodable {
        var role: Role?
        var disabled: Bool?
        var discordId: String??

        enum CodingKeys: String, CodingKey {
            case role, disabled, discordId
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            role = try container.decodeIfPresent(Role.self, forKey: .role)
            disabled = try container.decodeIfPresent(Bool.self, forKey: .disabled)
            // Present and null unlinks; absent leaves it alone.
            if container.contains(.discordId) {
                discordId = .some(try container.decodeNil(forKey: .discordId) ? nil : try container.decode(String.self, forKey: .discordId))
            }
        }
    }

    @Sendable func change(request: Request, context: AdminContext) async throws -> UserResponse {
        let id = try context.parameters.uuid("user_id", or: .userNotFound)
        let body = try await request.decodeChange(as: ChangeRequest.self, context: context, nullable: ["discord_id"])
        if case .some(.some(let discordId)) = body.discordId, !DiscordId.isValid(discordId) { throw APIError.notADiscordId() }
        if id == context.caller.userId, body.disabled == true || (body.role.map { $0 != .admin } ?? false) {
            throw APIError.conflict("cannot_change_self", "an admin cannot disable or demote their own account")
        }
        guard let (user, endedSessions) = try await admin.apply(
            UserChange(role: body.role, disabled: body.disabled, discordId: body.discordId), to: id, logger: context.logger
        ) else {
            throw APIError.userNotFound
        }
        let userId = user.id.uuidString.lowercased()
        // Live connections are told why: a disabled account, or a new role (tokens carry it).
        let reason: SessionEndReason = body.disabled == true ? .disabled : .roleChanged
        for session in endedSessions { await revoker.revoke(.session(session, reason: reason), logger: context.logger) }
        if body.disabled == true {
            await revoker.revoke(.user(userId, reason: .disabled), logger: context.logger)
        } else if body.disabled == false {
            await revoker.revoke(.userEnabled(userId), logger: context.logger)
        }
        context.logger.info("user changed", metadata: ["user_id": "\(userId)", "by": "\(context.identity.userId)"])
        return UserResponse(user)
    }
}

extension Character {
    var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
