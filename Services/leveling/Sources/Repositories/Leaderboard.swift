import GuildConcurrency
import Foundation
import GuildRedis
import Logging
import Synchronization

/// The leaderboard's index: every member's XP in a Redis sorted set, so a page and a member's
/// rank cost a logarithm of the number of members instead of a count over the table.
///
/// PostgreSQL holds the truth; the index follows it. Every change is written to the index after
/// it commits; at start a replica rebuilds the index when it is missing (Redis restarted empty)
/// and, in any case, writes again what changed in the last ten minutes (a replica that stopped
/// between a commit and its index update). Until the index is known complete, and whenever
/// Redis cannot answer, the leaderboard is read from PostgreSQL instead.
final class Leaderboard: Sendable {
    static let key = "guildhall:leveling:leaderboard"
    /// Set once a rebuild has finished: the index holds every member.
    static let completeKey = "guildhall:leveling:leaderboard:complete"

    private let redis: RedisClient
    private let profiles: LevelingRepository
    private let logger: Logger
    private let complete = Atomic(false)
    /// Raised totals waiting to be indexed, the largest per member (see ``recordSoon(_:)``).
    private let raised = Mutex<[String: Int64]>([:])
    private let raisedSignal: AsyncStream<Void>.Continuation
    private let raisedSignals: AsyncStream<Void>

    init(redis: RedisClient, profiles: LevelingRepository, logger: Logger) {
        self.redis = redis
        self.profiles = profiles
        self.logger = logger
        (raisedSignals, raisedSignal) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Queues totals that only grew (XP from the bot's events) for the index and returns at once:
    /// ``writeRaised()`` writes whatever has gathered in one `ZADD GT`, so a busy replica sends
    /// Redis one command for many events instead of one each.
    func recordSoon(_ members: [(discordId: String, xp: Int64)]) {
        guard !members.isEmpty else { return }
        raised.withLock { pending in
            for member in members { pending[member.discordId] = max(pending[member.discordId] ?? 0, member.xp) }
        }
        raisedSignal.yield()
    }

    /// Writes the queued raises as they come, until the task is cancelled; what is queued then is written last.
    func writeRaised() async {
        for await _ in raisedSignals {
            await flushRaised()
            if Task.isCancelled { break }
        }
        await flushRaised()
    }

    private func flushRaised() async {
        let batch = raised.withLock { pending -> [String: Int64] in
            defer { pending = [:] }
            return pending
        }
        await record(batch.map { ($0.key, $0.value) }, onlyIncreases: true)
    }

    /// Whether pages and ranks come from the index.
    var isComplete: Bool { complete.load(ordering: .relaxed) }

    /// Writes members' XP after a change committed. With `onlyIncreases` (XP the bot's events
    /// awarded, which only grows) an entry is never lowered, so two changes of one member indexed
    /// in the other order than they committed leave the larger. A failure leaves the index
    /// behind until the next catch-up; it never fails the change.
    func record(_ members: [(discordId: String, xp: Int64)], onlyIncreases: Bool = false) async {
        guard !members.isEmpty else { return }
        do {
            try await redis.send(Self.zadd(members, onlyIncreases: onlyIncreases))
        } catch {
            logger.warning("leaderboard index not updated", metadata: ["count": "\(members.count)", "error": "\(error)"])
        }
    }

    /// Writes a member's XP after a change that may have lowered it: the value written, then
    /// the value the table holds now, raised only, so an award that committed after the change
    /// but was indexed before it is not lost.
    func recordLowered(_ discordId: String, xp: Int64, logger: Logger) async {
        await record([(discordId, xp)])
        if let now = try? await profiles.profile(discordId, logger: logger) {
            await record([(discordId, now.xp)], onlyIncreases: true)
        }
    }

    /// Members from `offset`, most XP first: `(discord_id, xp)`, with how many members have more
    /// XP than the first of them and how many there are — one round trip to Redis; nil when the
    /// index cannot answer.
    func page(offset: Int, limit: Int) async -> (members: [(discordId: String, xp: Int64)], aheadOfFirst: Int, total: Int)? {
        guard isComplete, limit > 0,
            let reply = try? await redis.eval(Self.pageScript, keys: [Self.key], arguments: [String(offset), String(offset + limit - 1)])
        else { return nil }
        let parts = reply.elements
        guard parts.count == 3, let ahead = parts[1].int, let total = parts[2].int else { return nil }
        var members: [(discordId: String, xp: Int64)] = []
        let values = parts[0].elements
        var index = 0
        while index + 1 < values.count {
            guard let id = values[index].string, let score = values[index + 1].string, let xp = Double(score) else { return nil }
            members.append((id, Int64(xp)))
            index += 2
        }
        return (members, ahead, total)
    }

    /// How many members have more XP than `xp`, and how many there are (one round trip); nil
    /// when the index cannot answer.
    func standing(of xp: Int64) async -> (ahead: Int, total: Int)? {
        guard isComplete, let reply = try? await redis.eval(Self.standingScript, keys: [Self.key], arguments: [String(xp)]) else { return nil }
        let parts = reply.elements
        guard parts.count == 2, let ahead = parts[0].int, let total = parts[1].int else { return nil }
        return (ahead, total)
    }

    /// KEYS: the index; ARGV: first and last position. The page with scores, the number of
    /// members with more XP than its first, and the number of members.
    private static let pageScript = """
        local page = redis.call('ZREVRANGE', KEYS[1], ARGV[1], ARGV[2], 'WITHSCORES')
        local ahead = 0
        if #page > 0 then ahead = redis.call('ZCOUNT', KEYS[1], '(' .. page[2], '+inf') end
        return {page, ahead, redis.call('ZCARD', KEYS[1])}
        """

    /// KEYS: the index; ARGV: an XP. Members with more, and members.
    private static let standingScript = """
        return {redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[1], '+inf'), redis.call('ZCARD', KEYS[1])}
        """

    // MARK: Keeping it whole

    /// Rebuilds the index when Redis lost it, then writes again what changed lately; retried by
    /// the caller until it succeeds.
    func prepare(recentlyChangedWithin window: TimeInterval = 600) async throws {
        let since = Date().addingTimeInterval(-window)
        if try await redis.send(["EXISTS", Self.completeKey]).int != 1 {
            logger.info("rebuilding the leaderboard index")
            try await copy(updatedSince: nil)
            try await redis.send(["SET", Self.completeKey, "1"])
        }
        // Changes a stopped replica committed but did not index, and any the rebuild read before they committed.
        try await copy(updatedSince: since)
        complete.store(true, ordering: .relaxed)
        logger.info("leaderboard index ready")
    }

    /// Keeps the index whole until the task is cancelled: prepares it (retrying), then checks
    /// every `interval` that Redis still has it, and rebuilds it when Redis came back empty.
    func keep(checkingEvery interval: Duration) async {
        await repeatUntilCancelled(backoff: Backoff(cap: .seconds(10)), failed: { error, _ in
            complete.store(false, ordering: .relaxed)
            logger.warning("leaderboard index not ready; the table answers meanwhile", metadata: ["error": "\(error)"])
        }) { backoff in
            if isComplete, try await redis.send(["EXISTS", Self.completeKey]).int == 1 {
                try await Task.sleep(for: interval)
                return
            }
            complete.store(false, ordering: .relaxed)
            try await prepare()
            backoff.reset()
        }
    }

    /// `ZADD` (with `GT` when only raises may apply) of members' XP to the index.
    private static func zadd(_ members: [(discordId: String, xp: Int64)], onlyIncreases: Bool) -> [String] {
        var arguments = onlyIncreases ? ["ZADD", key, "GT"] : ["ZADD", key]
        arguments.reserveCapacity(arguments.count + members.count * 2)
        for member in members {
            arguments.append(String(member.xp))
            arguments.append(member.discordId)
        }
        return arguments
    }

    private func copy(updatedSince: Date?) async throws {
        var after: String?
        while true {
            let chunk = try await profiles.scan(after: after, limit: 5_000, updatedSince: updatedSince, logger: logger)
            guard let last = chunk.last else { return }
            try await redis.send(Self.zadd(chunk, onlyIncreases: false))
            after = last.discordId
        }
    }
}
