import Logging
import NIOCore
import Synchronization

/// The answers of a service's public reads (catalogue, stats, levels, leaderboard), kept for a
/// moment so a burst of readers costs the database one query per replica and moment, not one
/// per request.
///
/// A successful write through a replica clears its cache at once and tells the others over Redis
/// (``channel``), which clear theirs as the message arrives; changes made elsewhere (a job, the
/// private listener) and messages lost while Redis is away are bounded by ``lifetime``: no answer
/// is older than that on any replica. Only `200` answers to `GET` are kept, by path and query, and
/// at most ``capacity`` of them, so made-up query strings cannot grow it without bound; routes
/// that answer a signed-in caller about themselves are cached for anonymous callers only.
public final class PublicReadCache: Sendable {
    /// A kept answer.
    public struct Entry: Sendable {
        /// When it is stale.
        public var expires: ContinuousClock.Instant
        /// Its `Content-Type`.
        public var contentType: String?
        /// Its body.
        public var body: ByteBuffer
    }

    /// How long an answer is kept.
    public let lifetime: Duration
    /// How many answers are kept at most.
    public let capacity: Int
    /// Where replicas of the service tell each other to clear.
    public let channel: String
    /// The answers, and how many times they were cleared (an answer read before a clear is not kept after it).
    private let entries = Mutex<(answers: [String: Entry], clears: Int)>(([:], 0))
    private let used = Atomic<Bool>(false)

    /// Creates an empty cache for `service`.
    public init(service: String, lifetime: Duration = .milliseconds(500), capacity: Int = 1024) {
        self.channel = "guildhall:\(service):public-reads"
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// Whether any route is served from the cache.
    public var isUsed: Bool { used.load(ordering: .relaxed) }

    /// Notes that a route is served from the cache.
    public func markUsed() { used.store(true, ordering: .relaxed) }

    /// The kept answer for `key`, if it is fresh.
    public func answer(for key: String, now: ContinuousClock.Instant) -> Entry? {
        guard let entry = entries.withLock({ $0.answers[key] }), entry.expires > now else { return nil }
        return entry
    }

    /// How many times the cache was cleared so far; taken before reading an answer to keep.
    public var clears: Int { entries.withLock { $0.clears } }

    /// Keeps `body` for `key`, unless the cache was cleared since the answer was read (`clearsBefore`):
    /// it may predate the change. When full, drops what is stale first, and keeps nothing more if
    /// that is not enough.
    public func keep(_ body: ByteBuffer, contentType: String?, for key: String, readAfter clearsBefore: Int, now: ContinuousClock.Instant) {
        let entry = Entry(expires: now + lifetime, contentType: contentType, body: body)
        entries.withLock { entries in
            guard entries.clears == clearsBefore else { return }
            if entries.answers.count >= capacity, entries.answers[key] == nil {
                entries.answers = entries.answers.filter { $0.value.expires > now }
                guard entries.answers.count < capacity else { return }
            }
            entries.answers[key] = entry
        }
    }

    /// Forgets every answer (after a write on this replica or another).
    public func clear() {
        entries.withLock { entries in
            entries.answers.removeAll(keepingCapacity: true)
            entries.clears &+= 1
        }
    }
}

extension PublicReadCache {
    /// Clears the cache whenever another replica says so (and on every (re)connection, for what
    /// may have been said meanwhile).
    public func listener(redis: RedisConfiguration, logger: Logger) -> RedisSubscriber {
        RedisSubscriber(
            configuration: redis, channels: [channel], logger: logger,
            onSubscribed: { [self] in clear() },
            onMessage: { [self] _ in clear() }
        )
    }
}

