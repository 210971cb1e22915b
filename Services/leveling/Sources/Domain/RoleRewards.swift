import Foundation
import GuildCore

/// Discord roles levels grant and take: at each level, roles to add and roles to remove. A member
/// holds what the rewards at or below their level leave, applied in level order, so a level change
/// adds and removes the difference (also on the way down).
struct RoleRewards: Sendable, Equatable {
    /// What one level does to a member's roles.
    struct Step: Sendable, Equatable {
        var add: [String] = []
        var remove: [String] = []
    }

    /// The steps by the level that takes them.
    var byLevel: [Int: Step] = [:]

    /// The roles held at `level`.
    func roles(at level: Int) -> Set<String> {
        var held = Set<String>()
        for (_, step) in byLevel.filter({ $0.key <= level }).sorted(by: { $0.key < $1.key }) {
            held.formUnion(step.add)
            held.subtract(step.remove)
        }
        return held
    }

    /// What changes when a member goes from `old` to `new`: roles to add and to remove, sorted.
    func change(from old: Int, to new: Int) -> (add: [String], remove: [String]) {
        let before = roles(at: old)
        let after = roles(at: new)
        return (after.subtracting(before).sorted(), before.subtracting(after).sorted())
    }

    /// Parses `level:role_id,…` (roles added at levels); nil when a part is not a level and a snowflake.
    static func parse(_ text: String, maximumLevel: Int) -> RoleRewards? {
        var rewards = RoleRewards()
        for part in text.split(separator: ",") {
            let pieces = part.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pieces.count == 2, let level = Int(pieces[0]), (1...maximumLevel).contains(level), DiscordId.isValid(pieces[1]) else { return nil }
            rewards.byLevel[level, default: Step()].add.append(pieces[1])
        }
        return rewards
    }
}
