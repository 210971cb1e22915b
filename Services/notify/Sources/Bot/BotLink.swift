import Configuration
import Foundation
import GuildClients
import GuildCore
import GuildServiceKit
import ServiceLifecycle

/// notify's link to the community's bot (`BOT_INTERNAL_URL`): the messages it sends members, and
/// the bot's reachability in health (`bot: reachable|unreachable|not configured`), which never
/// makes notify degraded.
struct BotLink: Sendable {
    let bot: BotClient?
    /// What inbox entries queue for the bot: the configured kinds, none without a bot.
    let messages: BotMessages
    let jobs: [any Service]
    let health: HealthComponent

    init(dependencies: ServiceDependencies, settings: BotSettings) {
        guard let url = settings.url else {
            bot = nil
            messages = BotMessages(kinds: [])
            jobs = []
            health = HealthComponent("bot") { "not configured" }
            return
        }
        let bot = BotClient(baseURL: url, secret: dependencies.settings.internalSecret, timeout: .seconds(5))
        self.bot = bot
        messages = BotMessages(kinds: settings.kinds)
        jobs = [
            BotMessageSender(
                database: dependencies.database, bot: bot, users: dependencies.users, interval: settings.interval, retryCap: settings.retryCap,
                logger: dependencies.logger
            )
        ]
        let probe = BotProbe(bot: bot)
        health = HealthComponent("bot") { await probe.status() }
    }
}

/// The bot's health, asked at most once every few seconds so a busy health check does not load it.
struct BotProbe: Sendable {
    private let bot: BotClient
    private let recent = RecentAnswer<String>(lifetime: .seconds(2))

    init(bot: BotClient) { self.bot = bot }

    func status() async -> String {
        await recent.value { await bot.isHealthy(timeout: .seconds(1)) ? "reachable" : "unreachable" }
    }
}

/// The bot's settings, read once at start.
struct BotSettings: Sendable {
    /// The bot's internal API (`BOT_INTERNAL_URL`); nil: no bot, nothing is queued for it.
    var url: String?
    /// The inbox kinds that reach members on Discord (`NOTIFY_BOT_KINDS`, comma-separated).
    var kinds: Set<String>
    /// How often the sender looks for due messages (`NOTIFY_BOT_INTERVAL_MS`, 50 to 60000, default 1000).
    var interval: Duration
    /// The longest wait before a message is tried again (`NOTIFY_BOT_RETRY_MAX_MS`, 100 to 3600000, default 60000).
    var retryCap: Duration

    init(reader: ConfigReader) throws {
        let url = reader.string(forKey: "bot.internal.url", default: "")
        self.url = url.isEmpty ? nil : url
        let kinds = reader.string(forKey: "notify.bot.kinds", default: "ticket_reply,booking_started,level_up")
        self.kinds = Set(kinds.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
        self.interval = .milliseconds(try reader.int(forKey: "notify.bot.interval.ms", default: 1000, in: 50...60_000))
        self.retryCap = .milliseconds(try reader.int(forKey: "notify.bot.retry.max.ms", default: 60_000, in: 100...3_600_000))
    }
}
