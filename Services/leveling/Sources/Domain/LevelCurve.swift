import Foundation

/// How much XP each level takes, and the tiers levels fall in: pure rules, configured at start.
///
/// The XP to reach level `L` is cumulative: `quadratic·L² + linear·L` (100 and 50 by default, so
/// level 1 at 150 XP, level 2 at 500, level 10 at 10,500). A member starts at level 0 with 0 XP
/// and stops rising at ``maximumLevel``.
struct LevelCurve: Sendable, Equatable {
    /// The coefficient of `L²`.
    var quadratic: Int64 = 100
    /// The coefficient of `L`.
    var linear: Int64 = 50
    /// The highest level (the end of the levels table).
    var maximumLevel = 100
    /// Tiers by their first level, in ascending order.
    var tiers: [Tier] = Tier.defaults

    /// A named band of levels.
    struct Tier: Sendable, Equatable {
        var name: String
        var firstLevel: Int

        static let defaults = [
            Tier(name: "Basic", firstLevel: 1), Tier(name: "Member", firstLevel: 11), Tier(name: "Advanced", firstLevel: 26),
            Tier(name: "Elite", firstLevel: 51), Tier(name: "Master", firstLevel: 76),
        ]
    }

    /// The total XP that reaches `level` (0 for level 0).
    func requirement(for level: Int) -> Int64 {
        let level = Int64(max(0, min(level, maximumLevel)))
        return quadratic * level * level + linear * level
    }

    /// The requirements of levels 1 through ``maximumLevel``, ascending: a member's level is how
    /// many of them their XP reaches (what the awarding SQL counts).
    var thresholds: [Int64] { (1...maximumLevel).map(requirement(for:)) }

    /// The level `xp` reaches.
    func level(for xp: Int64) -> Int {
        // Binary search over the monotonic requirements.
        var low = 0
        var high = maximumLevel
        while low < high {
            let middle = (low + high + 1) / 2
            if requirement(for: middle) <= xp { low = middle } else { high = middle - 1 }
        }
        return low
    }

    /// The tier of `level`; level 0 counts as the first tier.
    func tier(of level: Int) -> String {
        tiers.last { $0.firstLevel <= level }?.name ?? tiers.first?.name ?? ""
    }

    /// Progress inside the level `xp` reaches: XP gained since reaching it, and the XP the
    /// level spans up to the next one (nil at the top).
    func progress(for xp: Int64) -> (level: Int, intoLevel: Int64, forNextLevel: Int64?) {
        let level = level(for: xp)
        let into = xp - requirement(for: level)
        guard level < maximumLevel else { return (level, into, nil) }
        return (level, into, requirement(for: level + 1) - requirement(for: level))
    }

    /// Parses `Name:firstLevel,…` (`LEVELING_TIERS`).
    static func parseTiers(_ text: String) -> [Tier]? {
        var tiers: [Tier] = []
        for part in text.split(separator: ",") {
            let pieces = part.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pieces.count == 2, !pieces[0].isEmpty, let first = Int(pieces[1]), first >= 1 else { return nil }
            tiers.append(Tier(name: pieces[0], firstLevel: first))
        }
        guard !tiers.isEmpty, tiers.map(\.firstLevel) == tiers.map(\.firstLevel).sorted(), Set(tiers.map(\.firstLevel)).count == tiers.count else { return nil }
        return tiers
    }
}
