import Foundation
import GuildCore
import GuildEvents
import GuildPostgres
import Logging
import PostgresNIO
import Synchronization

/// A service's settings that admins change while it runs (leveling's XP rules, booking's prices):
/// stored in the service's `settings` table (one row, none until the first change: until then the
/// environment's ``defaults`` hold), read from memory, and reloaded on every replica when a
/// change's event arrives (``SettingsWatcher``). Every change is kept in `settings_history` with
/// who made it and the settings before and after.
public final class RuntimeSettings<Document: Codable & Sendable & Equatable>: Sendable {
    /// The service's database.
    public let database: Database
    /// The environment's settings: the ones in force until an admin's first change.
    public let defaults: Document
    /// The event a change publishes (``SettingsChanged``), on which every replica reloads.
    public let changeEvent: String
    private let loaded: Mutex<(document: Document, version: Int64)>

    /// Creates the store with `defaults` in force until ``reload(logger:)`` finds stored settings.
    public init(database: Database, defaults: Document, changeEvent: String) {
        self.database = database
        self.defaults = defaults
        self.changeEvent = changeEvent
        self.loaded = Mutex((defaults, 0))
    }

    /// The settings in force on this replica.
    public var current: Document { loaded.withLock { $0.document } }

    /// Reads the stored settings and puts them in force, unless a newer version is in force already.
    public func reload(logger: Logger) async throws {
        let stored = try await database.connection(logger: logger) { connection in
            try await connection.query("SELECT config::text, version FROM settings", logger: logger)
                .decode((String, Int64).self).first { _ in true }
        }
        guard let (text, version) = stored else { return }
        adopt(try GuildJSON.decoder.decode(Document.self, from: Data(text.utf8)), version: version)
    }

    /// Stores `document` as `admin`'s change, records it with the settings it replaced, and tells
    /// every replica (``changeEvent``, in the same transaction); in force here at once.
    public func change(to document: Document, by admin: UUID, logger: Logger) async throws -> Document {
        let after = try GuildJSON.string(document)
        let defaultsText = try GuildJSON.string(defaults)
        let version = try await database.transaction(logger: logger) { [changeEvent] connection in
            // Changes take turns (also the first, before the row exists): each records the settings the previous one left.
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(current_schema() || ':settings'))", logger: logger)
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
            guard let version = try await rows.decode(Int64.self).first(where: { _ in true }) else {
                throw APIError(status: 503, code: "settings_not_stored", message: "the settings were not stored; try again", retryAfter: 1)
            }
            let event = try EventEnvelope(SettingsChanged(version: version), as: changeEvent, userId: admin.uuidString.lowercased())
            try await Outbox.write(event, on: connection, logger: logger)
            return version
        }
        adopt(document, version: version)
        return document
    }

    /// One change of the settings, as a history route lists it.
    public struct Change: Codable, Sendable {
        public var id: Int64
        public var changedAt: Date
        public var changedBy: UUID
        public var before: Document
        public var after: Document
    }

    /// Changes newest first, before the change `cursor`.
    public func history(before cursor: Int64?, limit: Int, logger: Logger) async throws -> [Change] {
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
                    before: try GuildJSON.decoder.decode(Document.self, from: Data(before.utf8)),
                    after: try GuildJSON.decoder.decode(Document.self, from: Data(after.utf8))
                ))
            }
            return changes
        }
    }

    /// Puts version `version` in force unless a newer one is.
    private func adopt(_ document: Document, version: Int64) {
        loaded.withLock { if version > $0.version { $0 = (document, version) } }
    }
}
