import Configuration
import GuildCore

extension ConfigReader {
    /// A whole-number setting, `value` when unset; one outside `range` stops start-up naming its
    /// environment variable (`leveling.xp.message` is `LEVELING_XP_MESSAGE`) and the range.
    public func int(forKey key: ConfigKey, default value: Int, in range: ClosedRange<Int>) throws -> Int {
        let found = int(forKey: key, default: value)
        guard range.contains(found) else {
            let name = key.components.joined(separator: "_").uppercased()
            throw ConfigurationError.invalid(name, "must be \(range.lowerBound) to \(range.upperBound)")
        }
        return found
    }
}
