import Foundation
import GuildCore
import GuildServiceKit
import Hummingbird

/// `/api/leveling`: profiles, the daily bonus, XP history, the leaderboard and the levels table.
struct ProfilesController: Sendable {
    let profiles: LevelingRepository
    let standings: Standings
    let leaderboard: Leaderboard
    let members: MemberLookup
    let config: RuntimeSettings<LevelingConfig>
    let curve: LevelCurve

    /// Anyone: the leaderboard and the levels table.
    var publicEndpoints: RouteCollection<GuildRequestContext> {
        RouteCollection(context: GuildRequestContext.self)
            .get("leaderboard", use: leaders)
            .get("levels", use: levels)
    }

    /// Signed-in members.
    var endpoints: RouteCollection<AuthenticatedContext> {
        RouteCollection(context: AuthenticatedContext.self)
            .get("me", use: me)
            .post("daily", use: daily)
            .get("users/:discord_id", use: member)
            .get("xp-history/:discord_id", use: history)
    }

    // MARK: Profiles

    /// The caller's profile, through the Discord id linked to their account (0 XP until the first).
    @Sendable func me(request: Request, context: AuthenticatedContext) async throws -> Profile {
        let discordId = try await members.linkedDiscordId(of: context.caller)
        let row = try await profiles.profile(discordId, logger: context.logger) ?? ProfileRow(discordId: discordId, xp: 0, level: 0, streak: 0)
        return try await standings.profile(row, logger: context.logger)
    }

    /// Any member's profile; 404 for a Discord id without one.
    @Sendable func member(request: Request, context: AuthenticatedContext) async throws -> Profile {
        let discordId = try MemberLookup.discordId(context)
        guard let row = try await profiles.profile(discordId, logger: context.logger) else { throw APIError.profileNotFound }
        return try await standings.profile(row, logger: context.logger)
    }

    struct Claimed: ResponseEncodable {
        var xpAwarded: Int
        var streak: Int
        var totalXp: Int64
        var level: Int
        var leveledUp: Bool
        var nextClaimAt: Date
    }

    /// The daily bonus, once per UTC day (409 on a second claim, also at the same moment), with
    /// the streak bonus for consecutive days.
    @Sendable func daily(request: Request, context: AuthenticatedContext) async throws -> Claimed {
        let discordId = try await members.linkedDiscordId(of: context.caller)
        let today = DailyDate(Date())
        let rules = config.current.rules
        let nextClaimAt = DailyDate(daysSinceEpoch: today.daysSinceEpoch + 1).start
        let (before, after) = try await profiles.change(discordId, logger: context.logger) { row in
            guard let claim = rules.dailyClaim(today: today, lastClaim: row.dailyClaimedOn, streak: row.streak) else {
                throw APIError.dailyClaimed(nextClaimAt: nextClaimAt)
            }
            return LevelingRepository.Change(xp: row.xp + Int64(claim.xp), source: "daily", streak: claim.streak, dailyClaimedOn: today)
        }
        await leaderboard.record([(discordId, after.xp)], onlyIncreases: true)
        return Claimed(
            xpAwarded: Int(after.xp - before.xp), streak: after.streak, totalXp: after.xp, level: after.level, leveledUp: after.level > before.level,
            nextClaimAt: nextClaimAt
        )
    }

    // MARK: History

    /// The member's XP changes, newest first (`?limit=`, `?cursor=`): the member and staff only.
    @Sendable func history(request: Request, context: AuthenticatedContext) async throws -> Page<HistoryEntry> {
        let discordId = try MemberLookup.discordId(context)
        let page = try SequencePageRequest(request)
        try await members.requireOwnerOrStaff(discordId, context: context)
        let entries = try await profiles.history(discordId, before: page.cursor, limit: page.fetchLimit, logger: context.logger)
        return Page(fetched: entries, request: page, number: \.id)
    }

    // MARK: Public

    struct Leaders: ResponseEncodable {
        var entries: [LeaderboardEntry]
        var total: Int
        var limit: Int
        var offset: Int
        /// The caller's own standing, when the request carries a token of an account linked to Discord.
        var me: Profile?
    }

    /// `?limit=` (1–200, default 50) and `?offset=`: members by XP, most first.
    @Sendable func leaders(request: Request, context: GuildRequestContext) async throws -> Leaders {
        let limit = try request.query("limit", in: 1...200) ?? 50
        let offset = try request.query("offset", in: 0...10_000_000) ?? 0
        let page = try await standings.page(offset: offset, limit: limit, logger: context.logger)
        var me: Profile?
        if let identity = context.identity, let userId = UUID(uuidString: identity.userId),
            let discordId = try? await members.linkedDiscordId(of: Caller(userId: userId, role: identity.role)),
            let row = try await profiles.profile(discordId, logger: context.logger)
        {
            me = try await standings.profile(row, logger: context.logger)
        }
        return Leaders(entries: page.entries, total: page.total, limit: limit, offset: offset, me: me)
    }

    struct Level: Codable, Sendable {
        var level: Int
        var xpRequired: Int64
        var tier: String
    }

    struct Levels: ResponseEncodable {
        var levels: [Level]
        var maxLevel: Int
    }

    /// Every level with the total XP that reaches it and its tier.
    @Sendable func levels(request: Request, context: GuildRequestContext) async throws -> Levels {
        Levels(levels: (1...curve.maximumLevel).map { Level(level: $0, xpRequired: curve.requirement(for: $0), tier: curve.tier(of: $0)) }, maxLevel: curve.maximumLevel)
    }
}
