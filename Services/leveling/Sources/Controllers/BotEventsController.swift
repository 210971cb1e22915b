import Foundation
import GuildCore
import GuildServiceKit
import Hummingbird

/// What the bot reports, on the private listener behind the shared secret:
/// `POST /internal/leveling/events` and `POST /internal/leveling/events/batch`.
struct BotEventsController: Sendable {
    let profiles: LevelingRepository
    let leaderboard: Leaderboard

    /// The most events one batch may carry.
    static let batchLimit = 500

    /// Under `/internal`.
    var endpoints: RouteCollection<GuildRequestContext> {
        RouteCollection(context: GuildRequestContext.self)
            .post("leveling/events", use: single)
            .post("leveling/events/batch", use: batch)
    }

    /// One event → `{xp_awarded, total_xp, level, leveled_up}`.
    @Sendable func single(request: Request, context: GuildRequestContext) async throws -> AwardResult {
        let body = try await request.decodeJSON(as: BotEvent.Body.self, context: context)
        let results = try await award([try BotEvent(body)], context: context)
        guard let result = results.first else { throw APIError.unavailable("leveling") }
        return result
    }

    struct Batch: Decodable {
        var events: [BotEvent.Body]
    }

    struct Results: ResponseEncodable {
        var results: [AwardResult]
    }

    /// `{events: [...]}` (1–500) → `{results: [...]}` in the same order; one bad event refuses
    /// the whole batch, naming it, and awards nothing.
    @Sendable func batch(request: Request, context: GuildRequestContext) async throws -> Results {
        // 500 events of a few hundred bytes each.
        let body = try await request.decodeJSON(as: Batch.self, context: context, limit: 1 << 20)
        guard (1...Self.batchLimit).contains(body.events.count) else {
            throw APIError.invalidField("events", "must hold 1 to \(Self.batchLimit) events")
        }
        let now = Date()
        let events = try body.events.enumerated().map { index, event in try BotEvent(event, field: "events[\(index)].", now: now) }
        return Results(results: try await award(events, context: context))
    }

    private func award(_ events: [BotEvent], context: GuildRequestContext) async throws -> [AwardResult] {
        let judged = try await profiles.award(events, logger: context.logger)
        // The index takes each member's newest total (XP from events only grows).
        var totals: [String: Int64] = [:]
        for (event, outcome) in zip(events, judged) where !outcome.replayed {
            totals[event.discordId] = max(totals[event.discordId] ?? 0, outcome.result.totalXp)
        }
        leaderboard.recordSoon(totals.map { ($0.key, $0.value) })
        return judged.map(\.result)
    }
}
