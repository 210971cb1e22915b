import Foundation
import GuildCore
import GuildServiceKit
import Hummingbird

/// Admins' changes of members' XP, each recorded in the member's history with the admin and reason.
struct AdminController: Sendable {
    let profiles: LevelingRepository
    let standings: Standings
    let leaderboard: Leaderboard
    let curve: LevelCurve

    var endpoints: RouteCollection<AdminContext> {
        RouteCollection(context: AdminContext.self)
            .post("xp", use: adjust)
            .put("users/:discord_id/level", use: setLevel)
            .post("users/:discord_id/reset", use: reset)
    }

    /// The largest XP change one call may make.
    static let amountLimit: Int64 = 1_000_000

    static func reason(_ text: String?, required: Bool) throws -> String? {
        guard let text = text?.trimmingCharacters(in: .whitespacesAndNewlines), !text.isEmpty else {
            if required { throw APIError.invalidField("reason", "is required: 1 to 200 characters") }
            return nil
        }
        guard text.count <= 200 else { throw APIError.invalidField("reason", "must be 1 to 200 characters") }
        return text
    }

    struct Adjustment: Decodable {
        var discordId: String
        var amount: Int64
        var reason: String
    }

    struct Adjusted: ResponseEncodable {
        var discordId: String
        /// The change made: `amount`, or less when XP would have gone below 0.
        var xpChange: Int64
        var totalXp: Int64
        var level: Int
        var leveledUp: Bool
    }

    /// `{discord_id, amount, reason}`: adds (or with a negative amount removes) XP, never below 0.
    @Sendable func adjust(request: Request, context: AdminContext) async throws -> Adjusted {
        let body = try await request.decodeJSON(as: Adjustment.self, context: context)
        guard DiscordId.isValid(body.discordId) else { throw APIError.notADiscordId() }
        guard body.amount != 0, abs(body.amount) <= Self.amountLimit else {
            throw APIError.invalidField("amount", "must be a whole number from -\(Self.amountLimit) to \(Self.amountLimit), not 0")
        }
        let reason = try Self.reason(body.reason, required: true)
        let admin = context.caller.userId
        let (before, after) = try await profiles.change(body.discordId, logger: context.logger) { row in
            LevelingRepository.Change(xp: max(0, row.xp + body.amount), source: "admin", reason: reason, adminId: admin)
        }
        await leaderboard.recordLowered(body.discordId, xp: after.xp, logger: context.logger)
        context.logger.info("xp adjusted by an admin", metadata: ["discord_id": "\(body.discordId)", "amount": "\(body.amount)"])
        return Adjusted(
            discordId: body.discordId, xpChange: after.xp - before.xp, totalXp: after.xp, level: after.level, leveledUp: after.level > before.level
        )
    }

    struct LevelChange: Decodable {
        var level: Int
        var reason: String?
    }

    /// `{level, reason?}`: puts the member at the start of `level` (1 to the top of the table).
    @Sendable func setLevel(request: Request, context: AdminContext) async throws -> Profile {
        let discordId = try MemberLookup.discordId(context)
        let body = try await request.decodeJSON(as: LevelChange.self, context: context)
        guard (1...curve.maximumLevel).contains(body.level) else {
            throw APIError.invalidField("level", "must be 1 to \(curve.maximumLevel)")
        }
        let reason = try Self.reason(body.reason, required: false)
        let xp = curve.requirement(for: body.level)
        let admin = context.caller.userId
        let (_, after) = try await profiles.change(discordId, logger: context.logger) { _ in
            LevelingRepository.Change(xp: xp, source: "level_set", reason: reason, adminId: admin)
        }
        await leaderboard.recordLowered(discordId, xp: after.xp, logger: context.logger)
        return try await standings.profile(after, logger: context.logger)
    }

    struct Reset: Decodable {
        var reason: String?
    }

    /// `{reason?}` (the body may be empty): XP and streak back to 0.
    @Sendable func reset(request: Request, context: AdminContext) async throws -> Profile {
        let discordId = try MemberLookup.discordId(context)
        let hasBody = request.headers[.contentLength].map { $0 != "0" } ?? (request.headers[.transferEncoding] != nil)
        let reason = hasBody ? try Self.reason(try await request.decodeJSON(as: Reset.self, context: context).reason, required: false) : nil
        let admin = context.caller.userId
        let (_, after) = try await profiles.change(discordId, logger: context.logger) { _ in
            LevelingRepository.Change(xp: 0, source: "reset", reason: reason, adminId: admin, streak: 0)
        }
        await leaderboard.recordLowered(discordId, xp: after.xp, logger: context.logger)
        return try await standings.profile(after, logger: context.logger)
    }
}
