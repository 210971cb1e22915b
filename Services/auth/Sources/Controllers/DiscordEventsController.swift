import Foundation
import GuildCore
import GuildEvents
import GuildPostgres
import GuildServiceKit
import Hummingbird

/// `POST /internal/events` on auth's private listener, behind the shared secret: the bot reports
/// what happened on Discord (`member_joined`, `member_left` …); each report is published through
/// the outbox as the event `discord.<event_type>` for whichever service cares (leveling makes the
/// member's profile on `discord.member_joined`). Types nobody handles are carried all the same.
struct DiscordEventsController: Sendable {
    let database: Database

    /// Under `/internal`.
    var endpoints: RouteCollection<GuildRequestContext> {
        RouteCollection(context: GuildRequestContext.self).post("events", use: report)
    }

    struct Report: Decodable {
        var eventType: String
        var discordId: String
        var metadata: JSONValue?

        // The metadata is the bot's, passed on with its keys as they are.
        enum CodingKeys: String, CodingKey {
            case eventType = "event_type", discordId = "discord_id", metadata
        }
    }

    struct Accepted: ResponseEncodable {
        var accepted = true
        var eventId: UUID
        var type: String
    }

    /// `{event_type, discord_id, metadata}` → 202 `{accepted, event_id, type}`.
    @Sendable func report(request: Request, context: GuildRequestContext) async throws -> EditedResponse<Accepted> {
        let body = try await request.decodeJSON(as: Report.self, context: context, decoder: JSONDecoder(), freeForm: ["metadata"])
        guard (1...64).contains(body.eventType.utf8.count), let first = body.eventType.utf8.first, first >= 0x61, first <= 0x7A,
            body.eventType.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F })
        else { throw APIError.invalidField("event_type", "must be 1 to 64 lower-case letters, digits or _, starting with a letter") }
        guard DiscordId.isValid(body.discordId) else { throw APIError.notADiscordId() }
        if let metadata = body.metadata {
            guard case .object = metadata else { throw APIError.invalidField("metadata", "must be an object") }
        }
        let event = try EventEnvelope(
            DiscordReport(discordId: body.discordId, metadata: body.metadata ?? .object([:])), as: "discord.\(body.eventType)", userId: nil
        )
        try await database.transaction(logger: context.logger) { connection in
            try await Outbox.write(event, on: connection, logger: context.logger)
        }
        return EditedResponse(status: .accepted, response: Accepted(eventId: event.id, type: event.type))
    }
}
