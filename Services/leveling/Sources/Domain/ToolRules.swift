import Foundation
import GuildCore

/// What a tool of the catalogue may be: checked the same way for the API and a catalogue file.
struct ToolRules: Sendable {
    /// The highest unlock level (the curve's highest level).
    var maximumLevel: Int

    /// 1 to 64 lower-case letters, digits, `-` or `_`, not starting with `-` or `_`.
    static func isToolId(_ text: String) -> Bool {
        guard (1...64).contains(text.utf8.count), let first = text.utf8.first, first != UInt8(ascii: "-"), first != UInt8(ascii: "_") else { return false }
        return text.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
    }

    /// The given fields, the name trimmed; a 400 naming the first out of range (`prefix` before
    /// its name, as in `tools[2].`).
    func checked(name: String?, description: String?, unlockLevel: Int?, prefix: String = "") throws -> (String?, String?, Int?) {
        let name = name?.trimmingCharacters(in: .whitespacesAndNewlines)
        if let name, !(1...100).contains(name.count) { throw APIError.invalidField(prefix + "name", "must be 1 to 100 characters") }
        if let description, description.count > 1000 { throw APIError.invalidField(prefix + "description", "must be at most 1000 characters") }
        if let unlockLevel, !(1...maximumLevel).contains(unlockLevel) {
            throw APIError.invalidField(prefix + "unlock_level", "must be 1 to \(maximumLevel)")
        }
        return (name, description, unlockLevel)
    }

    /// A whole tool, checked: the id first, then the fields.
    func checked(_ tool: Tool, prefix: String = "") throws -> Tool {
        guard Self.isToolId(tool.id) else { throw APIError.invalidField(prefix + "id", "must be 1 to 64 lower-case letters, digits, - or _") }
        let (name, description, level) = try checked(name: tool.name, description: tool.description, unlockLevel: tool.unlockLevel, prefix: prefix)
        return Tool(id: tool.id, name: name ?? tool.name, description: description ?? "", unlockLevel: level ?? tool.unlockLevel, active: tool.active)
    }
}
