import Configuration
import GuildLive
import GuildServiceKit

/// Everything notify reads from its configuration, read once at start (a bad value stops
/// start-up, naming its variable); each feature is handed its part.
struct NotifySettings: Sendable {
    /// What every service reads (ports, database, Redis, secrets, grace).
    let service: ServiceSettings
    /// The tickets service's internal API, which says who may join a ticket's room (`TICKETS_INTERNAL_URL`).
    let ticketsURL: String
    /// This replica's id, the prefix of its socket.io session ids (`NOTIFY_REPLICA_ID`, else the host's name).
    let replicaId: String
    /// Push notifications through FCM.
    let push: PushSettings
    /// The community's bot.
    let bot: BotSettings

    init(reader: ConfigReader) throws {
        service = try ServiceSettings(.notify, reader: reader)
        ticketsURL = try service.required("tickets.internal.url", environment: "TICKETS_INTERNAL_URL", development: "http://127.0.0.1:8183", reader: reader)
        replicaId = EngineSessions.replicaId(configured: reader.string(forKey: "notify.replica.id"))
        push = try PushSettings(reader: reader)
        bot = try BotSettings(reader: reader)
    }
}
