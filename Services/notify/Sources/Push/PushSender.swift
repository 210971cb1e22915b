import Foundation
import GuildConcurrency
import GuildPostgres
import GuildServiceKit
import Logging
import PostgresNIO
import ServiceLifecycle

/// Works off the push queue (`push_jobs`) on every replica: claims due jobs under a lease, sends
/// each to all of its user's devices (many messages in flight at once), drops the tokens FCM
/// reports dead, and puts a job whose devices FCM could not take back in the queue with backoff
/// (1 s, 2 s, 4 s … up to `retryCap`, or FCM's `Retry-After`) for the devices still to reach.
///
/// A claim moves the job's `next_attempt_at` a lease ahead, so a replica that dies mid-send
/// leaves the job to another once the lease runs out; delivery is therefore at least once.
/// Requests never wait for any of this: the HTTP calls run here, outside any transaction.
struct PushSender: Service {
    let database: Database
    let fcm: FCMClient
    let metrics: PushMetrics
    let interval: Duration
    let retryCap: Duration
    let logger: Logger

    /// Jobs claimed at a time.
    static let batchSize = 20
    /// Messages in flight at once.
    static let concurrency = 16
    /// How long a claimed job is left to its claimant (well beyond a batch's sends and their timeouts).
    static let leaseSeconds = 120.0
    /// Attempts before a job is given up.
    static let maxAttempts = 10

    func run() async throws {
        await cancelWhenGracefulShutdown {
            // A full batch: more may be due, so no pause.
            await pollForWork(every: interval, logger: logger, waiting: "push jobs wait for the database") { try await workOnce() == Self.batchSize }
        }
    }

    /// The waits between a job's attempts: 1 s, 2 s, 4 s … up to `retryCap`.
    var retries: Backoff { Backoff(initial: .seconds(1), cap: retryCap) }

    // MARK: One round

    /// A claimed job.
    struct Job: Sendable {
        var id: Int64
        var userId: String
        var kind: String
        var title: String
        var body: String
        var data: [String: String]
        /// Attempts so far, this one included.
        var attempts: Int
        /// The devices still to reach; nil: all of the user's.
        var tokens: [String]?
    }

    /// Claims up to ``batchSize`` due jobs, sends them and settles each; returns how many it claimed.
    func workOnce() async throws -> Int {
        let jobs = try await claim()
        guard !jobs.isEmpty else { return 0 }
        let owners = Array(Set(jobs.map(\.userId)))
        let devices = try await database.connection(logger: logger) { [logger] connection in
            try await PushTokenRepository.tokens(of: owners, on: connection, logger: logger)
        }
        // Only tokens the user holds now: one that moved to another account gets none of this user's news.
        var deliveries: [(job: Int, message: FCMClient.Message)] = []
        for (index, job) in jobs.enumerated() {
            let held = devices[job.userId] ?? []
            let targets = job.tokens.map { wanted in held.filter(wanted.contains) } ?? held
            var data = job.data
            data["kind"] = job.kind
            for token in targets {
                deliveries.append((index, FCMClient.Message(token: token, title: job.title, body: job.body, data: data)))
            }
        }
        let outcomes = await send(deliveries.map(\.message))
        var results = Array(repeating: [(token: String, outcome: FCMClient.Outcome)](), count: jobs.count)
        for (delivery, outcome) in zip(deliveries, outcomes) { results[delivery.job].append((delivery.message.token, outcome)) }
        try await settle(jobs, results)
        return jobs.count
    }

    private func claim() async throws -> [Job] {
        try await database.connection(logger: logger) { [logger] connection in
            let rows = try await connection.query(
                """
                UPDATE push_jobs SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => \(Self.leaseSeconds))
                WHERE id IN (
                    SELECT id FROM push_jobs WHERE next_attempt_at <= now() ORDER BY next_attempt_at, id LIMIT \(Self.batchSize)
                    FOR UPDATE SKIP LOCKED
                )
                RETURNING id, user_id, kind, title, body, data::text, attempts, tokens
                """,
                logger: logger
            )
            var jobs: [Job] = []
            for try await (id, userId, kind, title, body, data, attempts, tokens) in rows.decode(
                (Int64, String, String, String, String, String, Int, [String]?).self
            ) {
                let values = (try? JSONDecoder().decode([String: String].self, from: Data(data.utf8))) ?? [:]
                jobs.append(Job(id: id, userId: userId, kind: kind, title: title, body: body, data: values, attempts: attempts, tokens: tokens))
            }
            return jobs
        }
    }

    /// Sends every message, ``concurrency`` at a time; the outcomes in the messages' order.
    private func send(_ messages: [FCMClient.Message]) async -> [FCMClient.Outcome] {
        await withTaskGroup(of: (Int, FCMClient.Outcome).self) { [fcm, logger] group in
            var outcomes = [FCMClient.Outcome?](repeating: nil, count: messages.count)
            var next = 0
            while next < messages.count && next < Self.concurrency {
                let index = next
                group.addTask { (index, await fcm.send(messages[index], logger: logger)) }
                next += 1
            }
            while let (index, outcome) = await group.next() {
                outcomes[index] = outcome
                if next < messages.count {
                    let index = next
                    group.addTask { (index, await fcm.send(messages[index], logger: logger)) }
                    next += 1
                }
            }
            return outcomes.map { $0 ?? .retryLater(said: "not sent", retryAfter: nil) }
        }
    }

    /// Drops dead tokens, removes finished jobs and puts the others back with backoff, in one transaction.
    private func settle(_ jobs: [Job], _ results: [[(token: String, outcome: FCMClient.Outcome)]]) async throws {
        var dead: [String] = []
        var finished: [Int64] = []
        var sentCount = 0
        var failedCount = 0
        var again: [(job: Job, tokens: [String], wait: Duration, said: String)] = []
        for (job, sent) in zip(jobs, results) {
            var retry: [String] = []
            var wait: Duration = .zero
            var said = ""
            for (token, outcome) in sent {
                switch outcome {
                case .sent:
                    metrics.sent.increment()
                    sentCount += 1
                case .deadToken(let reason):
                    metrics.failed.increment()
                    failedCount += 1
                    dead.append(token)
                    logger.info("push token dropped: FCM reports it dead", metadata: ["user_id": "\(job.userId)", "fcm": "\(reason)"])
                case .retryLater(let reason, let retryAfter):
                    metrics.failed.increment()
                    failedCount += 1
                    retry.append(token)
                    wait = max(wait, retryAfter ?? .zero)
                    said = reason
                case .refused(_, let reason):
                    metrics.failed.increment()
                    failedCount += 1
                    logger.warning("push refused by FCM", metadata: ["user_id": "\(job.userId)", "job_id": "\(job.id)", "fcm": "\(reason)"])
                }
            }
            if retry.isEmpty {
                finished.append(job.id)
            } else if job.attempts >= Self.maxAttempts {
                finished.append(job.id)
                metrics.abandoned.increment()
                logger.warning("push job given up", metadata: [
                    "user_id": "\(job.userId)", "job_id": "\(job.id)", "attempts": "\(job.attempts)", "error": "\(said)",
                ])
            } else {
                let delay = min(max(retries.delay(afterAttempts: job.attempts), wait), .seconds(3600))
                again.append((job, retry, delay, said))
                logger.info("push job tried again later", metadata: [
                    "user_id": "\(job.userId)", "job_id": "\(job.id)", "attempts": "\(job.attempts)", "retry_in": "\(delay)", "error": "\(said)",
                ])
            }
        }
        let dropped = try await database.transaction(logger: logger) { [logger, dead, finished, again, sentCount, failedCount] connection in
            let dropped = try await PushTokenRepository.drop(dead, on: connection, logger: logger)
            // The day's figures (`GET /api/notifications/stats`), with the outcome they count.
            try await connection.query(
                "SELECT count_daily('pushes.sent', '', now(), \(sentCount)), count_daily('pushes.failed', '', now(), \(failedCount))",
                logger: logger
            )
            if !finished.isEmpty {
                try await connection.query("DELETE FROM push_jobs WHERE id = ANY(\(finished))", logger: logger)
            }
            for (job, tokens, wait, said) in again {
                let seconds = Double(wait.components.seconds) + Double(wait.components.attoseconds) / 1e18
                try await connection.query(
                    """
                    UPDATE push_jobs SET tokens = \(tokens), last_error = \(String(said.prefix(500))),
                        next_attempt_at = now() + make_interval(secs => \(seconds))
                    WHERE id = \(job.id)
                    """,
                    logger: logger
                )
            }
            return dropped
        }
        metrics.dropped.increment(by: dropped)
    }
}
