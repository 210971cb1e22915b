import Foundation
import GuildCore
import GuildServiceKit
import Hummingbird

/// `/api/leveling/config`: the settings in force (staff), an admin's change of them, and the
/// record of changes (staff).
struct ConfigController: Sendable {
    let config: LevelingConfigStore

    var staffEndpoints: RouteCollection<StaffContext> {
        RouteCollection(context: StaffContext.self)
            .get("config", use: show)
            .get("config/history", use: history)
    }

    var adminEndpoints: RouteCollection<AdminContext> {
        RouteCollection(context: AdminContext.self).put("config", use: change)
    }

    @Sendable func show(request: Request, context: StaffContext) async throws -> LevelingConfig {
        config.current
    }

    /// The whole settings document, every field required; in force on every replica within a
    /// second. A refused one (a field missing, unknown or out of range) changes nothing.
    @Sendable func change(request: Request, context: AdminContext) async throws -> LevelingConfig {
        let body = try await request.decodeJSON(as: LevelingConfig.self, context: context)
        let checked = try body.checked(maximumLevel: config.maximumLevel)
        let stored = try await config.change(to: checked, by: context.caller.userId, logger: context.logger)
        context.logger.info("leveling settings changed", metadata: ["admin_id": "\(context.caller.userId)"])
        return stored
    }

    struct History: ResponseEncodable {
        var items: [LevelingConfigStore.Change]
        var nextCursor: String?
    }

    /// Changes newest first (`?limit=` 1–200, default 50; `?cursor=`).
    @Sendable func history(request: Request, context: StaffContext) async throws -> History {
        let limit = try request.query("limit", in: 1...200) ?? 50
        let cursor = try request.query("cursor").map { text in
            guard let id = Int64(text), id > 0 else { throw APIError.invalidField("cursor", "is not a cursor this API returned") }
            return id
        }
        let changes = try await config.history(before: cursor, limit: limit + 1, logger: context.logger)
        let shown = Array(changes.prefix(limit))
        return History(items: shown, nextCursor: changes.count > limit ? shown.last.map { String($0.id) } : nil)
    }
}
