import Foundation
import Logging

/// Members' standing — rank and leaderboard pages — from the Redis index when it can answer,
/// from PostgreSQL otherwise.
struct Standings: Sendable {
    let profiles: LevelingRepository
    let leaderboard: Leaderboard
    let curve: LevelCurve

    /// How many members have more XP than `xp`, and how many there are.
    func standing(of xp: Int64, logger: Logger) async throws -> (ahead: Int, total: Int) {
        if let standing = await leaderboard.standing(of: xp) { return standing }
        return try await profiles.standing(of: xp, logger: logger)
    }

    /// The profile of `row` with its rank.
    func profile(_ row: ProfileRow, logger: Logger) async throws -> Profile {
        Profile(row: row, rank: try await standing(of: row.xp, logger: logger).ahead + 1, curve: curve)
    }

    /// The leaderboard from `offset`, with the number of members; equal XP shares a rank.
    func page(offset: Int, limit: Int, logger: Logger) async throws -> (entries: [LeaderboardEntry], total: Int) {
        let members: [(discordId: String, xp: Int64)]
        let ahead: Int
        let total: Int
        if let indexed = await leaderboard.page(offset: offset, limit: limit) {
            (members, ahead, total) = indexed
        } else {
            members = try await profiles.leaders(offset: offset, limit: limit, logger: logger)
            let standing = try await profiles.standing(of: members.first?.xp ?? Int64.max, logger: logger)
            (ahead, total) = (standing.ahead, standing.total)
        }
        var entries: [LeaderboardEntry] = []
        entries.reserveCapacity(members.count)
        var rank = ahead + 1
        for (index, member) in members.enumerated() {
            if index > 0, member.xp < members[index - 1].xp { rank = offset + index + 1 }
            let level = curve.level(for: member.xp)
            entries.append(LeaderboardEntry(rank: rank, discordId: member.discordId, xp: member.xp, level: level, tier: curve.tier(of: level)))
        }
        return (entries, total)
    }
}
