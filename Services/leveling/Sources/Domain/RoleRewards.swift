import Foundation
import GuildCore

/// Discord roles a member earns at levels (`LEVELING_ROLE_REWARDS`, `level:role_id,…`): a member
/// holds every reward at or below their level, so a level change adds and removes the difference.
struct RoleRewards: Sendable, Equatable {
    /// Role ids by the level that earns them.
    var byLevel: [Int: [String]] = [:]

    /// The roles held at `level`.
    func roles(at level: Int) -> Set<String> {
        Set(byLevel.filter { $0.key <= level }.flatMap(\.value))
    }

    /// What changes when a member goes from `old` to `new`: roles to add and to remove, sorted.
    func change(from old: Int, to new: Int) -> (add: [String], remove: [String]) {
        let before = roles(at: old)
        let after = roles(at: new)
        return (after.subtracting(before).sorted(), before.subtracting(after).sorted())
    }

    /// Parses `level:role_id,…`; nil when a part is not a level and a snowflake.
    static func parse(_ text: String, maximumLevel: Int) -> RoleRewards? {
        var rewards = RoleRewards()
        for part in text.split(separator: ",") {
            let pieces = part.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pieces.count == 2, let level = Int(pieces[0]), (1...maximumLevel).contains(level), DiscordId.isValid(pieces[1]) else { return nil }
            rewards.byLevel[level, default: []].append(pieces[1])
        }
        return rewards
    }
}
