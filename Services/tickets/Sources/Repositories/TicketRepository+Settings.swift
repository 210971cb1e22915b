import Foundation
import GuildCore
import GuildEvents
import GuildPostgres
import Logging
import PostgresNIO

/// The desk's settings: one row of `settings`.
extension TicketRepository {
    func settings(logger: Logger) async throws -> DeskSettings {
        try await database.connection(logger: logger) { connection in try await Self.settings(on: connection, logger: logger) }
    }

    static func settings(on connection: PostgresConnection, logger: Logger) async throws -> DeskSettings {
        let rows = try await connection.query(
            "SELECT enabled, max_open_per_user, auto_close_hours, transcript_enabled, categories FROM settings",
            logger: logger
        )
        for try await (enabled, maxOpen, autoClose, transcripts, categories) in rows.decode((Bool, Int, Int, Bool, [String]).self) {
            return DeskSettings(enabled: enabled, maxOpenPerUser: maxOpen, autoCloseHours: autoClose, transcriptEnabled: transcripts, categories: categories)
        }
        throw TicketFailure.settingsMissing
    }

    func save(_ settings: DeskSettings, logger: Logger) async throws {
        try await database.connection(logger: logger) { connection in
            _ = try await connection.query(
                """
                UPDATE settings SET enabled = \(settings.enabled), max_open_per_user = \(settings.maxOpenPerUser),
                    auto_close_hours = \(settings.autoCloseHours), transcript_enabled = \(settings.transcriptEnabled),
                    categories = \(settings.categories)
                """,
                logger: logger
            )
        }
    }
}
