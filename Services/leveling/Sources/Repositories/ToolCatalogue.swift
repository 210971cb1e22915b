import Configuration
import Foundation
import GuildCore
import GuildPostgres
import Logging
import PostgresNIO

/// The whole tool catalogue at once, as `guildctl tools export` writes it and `import` reads it.
public struct ToolCatalogue: Sendable {
    /// What an import changed.
    public struct Summary: Sendable, Equatable {
        public var created = 0
        public var updated = 0
        public var unchanged = 0
    }

    /// The most tools one file may hold.
    public static let limit = 1000

    let database: Database
    let rules: ToolRules

    /// Works on the leveling schema through `database`; unlock levels up to the service's
    /// `LEVELING_MAX_LEVEL` as `reader` has it.
    public init(database: Database, configuration reader: ConfigReader) throws {
        self.database = database
        self.rules = ToolRules(maximumLevel: try LevelingSettings.maximumLevel(reader))
    }

    /// Every tool, retired ones too, by id.
    public func export(logger: Logger) async throws -> [Tool] {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query("SELECT id, name, description, unlock_level, active FROM tools ORDER BY id", logger: logger)
            var tools: [Tool] = []
            for try await (id, name, description, level, active) in rows.decode((String, String, String, Int, Bool).self) {
                tools.append(Tool(id: id, name: name, description: description, unlockLevel: level, active: active))
            }
            return tools
        }
    }

    /// Creates the tools that are new and changes those that differ, in one transaction; tools
    /// the file does not name are left as they are. Every entry is checked before anything is
    /// written: a 400 naming the first bad one (`tools[2].unlock_level`) changes nothing.
    public func importing(_ tools: [Tool], logger: Logger) async throws -> Summary {
        guard tools.count <= Self.limit else { throw APIError.invalidField("tools", "must hold at most \(Self.limit) tools") }
        var seen: Set<String> = []
        let checked = try tools.enumerated().map { index, tool in
            let tool = try rules.checked(tool, prefix: "tools[\(index)].")
            guard seen.insert(tool.id).inserted else { throw APIError.invalidField("tools[\(index)].id", "\(tool.id) is named twice") }
            return tool
        }
        return try await database.transaction(logger: logger) { connection in
            var summary = Summary()
            for tool in checked {
                // No row back: the tool was there already as it is. `xmax = 0`: a new row.
                let rows = try await connection.query(
                    """
                    INSERT INTO tools AS t (id, name, description, unlock_level, active)
                    VALUES (\(tool.id), \(tool.name), \(tool.description), \(tool.unlockLevel), \(tool.active))
                    ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, description = EXCLUDED.description,
                        unlock_level = EXCLUDED.unlock_level, active = EXCLUDED.active
                    WHERE (t.name, t.description, t.unlock_level, t.active)
                        IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.description, EXCLUDED.unlock_level, EXCLUDED.active)
                    RETURNING t.xmax = 0
                    """,
                    logger: logger
                )
                switch try await rows.decode(Bool.self).first(where: { _ in true }) {
                case true?: summary.created += 1
                case false?: summary.updated += 1
                case nil: summary.unchanged += 1
                }
            }
            return summary
        }
    }
}
