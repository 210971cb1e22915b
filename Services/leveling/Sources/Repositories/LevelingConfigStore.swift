import Foundation
import GuildCore
import GuildEvents
import GuildPostgres
import Logging
import PostgresNIO
import Synchronization

/// Leveling's settings in force: stored in `settings` (one row, none until an admin's first
/// change: then the environment's hold), read from memory on every event and claim, and
/// reloaded on every replica when a change's `leveling.config_changed` arrives
/// (``LevelingConfigWatcher``). Each change is recorded in `settings_history`.
final class LevelingConfigStore: Sendable {
    let database: Database
    /// The environment's settings: the ones in force until an admin's change.
    let defaults: LevelingConfig
    /// The levels role rewards may name (the curve's top level).
    let maximumLevel: Int
    private let loaded: Mutex<(config: LevelingConfig, version: Int64)>

    init(database: Database, defaults: LevelingConfig, maximumLevel: Int) {
        self.database = database
        self.defaults = defaults
        self.maximumLevel = maximumLevel
        self.loaded = Mutex((defaults, 0))
    }

    /// The settings in force on this replica.
    var current: LevelingConfig { loaded.withLock { $0.config } }

    /// Reads the stored settings (none stored: the defaults) and puts them in force, unless a
    /// newer version is in force already.
    func reload(logger: Logger) async throws {
        let stored = try await database.connection(logger: logger) { connection in
            try await connection.query("SELECT config::text, version FROM settings", logger: logger)
                .decode((String, Int64).self).first { _ in true }
        }
        guard let (text, version) = stored else { return }
        let config = try GuildJSON.decoder.decode(LevelingConfig.self, from: Data(text.utf8))
        loaded.withLock { if version > $0.version { $0 = (config, version) } }
    }

    /// Stores `config` as `admin`'s change, records it with the settings it replaced, and tells
    /// every replica (`leveling.config_changed`, in the same transaction); in force here at once.
    func change(to config: LevelingConfig, by admin: UUID, logger: Logger) async throws -> LevelingConfig {
        let after = try GuildJSON.string(config)
        let defaultsText = try GuildJSON.string(defaults)
        let version = try await database.transaction(logger: logger) { connection in
            // Changes take turns (also the first, before the row exists): each records the settings the previous one left.
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext('leveling:settings'))", logger: logger)
            let rows = try await connection.query(
                """
                WITH previous AS (SELECT config, version FROM settings),
                stored AS (
                    INSERT INTO settings (config, version, changed_at, changed_by)
                    VALUES (\(after)::jsonb, coalesce((SELECT version FROM previous), 0) + 1, now(), \(admin))
                    ON CONFLICT (id) DO UPDATE SET config = EXCLUDED.config, version = settings.version + 1,
                        changed_at = EXCLUDED.changed_at, changed_by = EXCLUDED.changed_by
                    RETURNING version, changed_at
                ), recorded AS (
                    INSERT INTO settings_history (changed_at, changed_by, before, after)
                    SELECT changed_at, \(admin), coalesce((SELECT config FROM previous), \(defaultsText)::jsonb), \(after)::jsonb FROM stored
                )
                SELECT version FROM stored
                """,
                logger: logger
            )
            var stored: Int64?
            for try await version in rows.decode(Int64.self) { stored = version }
            guard let version = stored else { throw LevelingFailure.settingsNotStored }
            let event = LevelingConfigChanged(version: version)
            try await Outbox.write(try EventEnvelope(event, userId: admin.uuidString.lowercased()), on: connection, logger: logger)
            return version
        }
        loaded.withLock { if version > $0.version { $0 = (config, version) } }
        return config
    }

    /// One change of the settings, as `GET /api/leveling/config/history` lists it.
    struct Change: Codable, Sendable {
        var id: Int64
        var changedAt: Date
        var changedBy: UUID
        var before: LevelingConfig
        var after: LevelingConfig
    }

    /// Changes newest first, before the change `cursor`.
    func history(before cursor: Int64?, limit: Int, logger: Logger) async throws -> [Change] {
        try await database.connection(logger: logger) { connection in
            let rows = try await connection.query(
                """
                SELECT id, changed_at, changed_by, before::text, after::text FROM settings_history
                WHERE \(cursor)::bigint IS NULL OR id < \(cursor) ORDER BY id DESC LIMIT \(limit)
                """,
                logger: logger
            )
            var changes: [Change] = []
            for try await (id, at, by, before, after) in rows.decode((Int64, Date, UUID, String, String).self) {
                changes.append(Change(
                    id: id, changedAt: at, changedBy: by,
                    before: try GuildJSON.decoder.decode(LevelingConfig.self, from: Data(before.utf8)),
                    after: try GuildJSON.decoder.decode(LevelingConfig.self, from: Data(after.utf8))
                ))
            }
            return changes
        }
    }
}
