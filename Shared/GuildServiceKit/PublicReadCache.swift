import GuildRedis
import HTTPTypes
import Hummingbird
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
    struct Entry: Sendable {
        var expires: ContinuousClock.Instant
        var contentType: String?
        var body: ByteBuffer
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
    var isUsed: Bool { used.load(ordering: .relaxed) }

    func markUsed() { used.store(true, ordering: .relaxed) }

    /// The kept answer for `key`, if it is fresh.
    func answer(for key: String, now: ContinuousClock.Instant) -> Response? {
        guard let entry = entries.withLock({ $0.answers[key] }), entry.expires > now else { return nil }
        var headers = HTTPFields()
        if let contentType = entry.contentType { headers[.contentType] = contentType }
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: entry.body))
    }

    /// How many times the cache was cleared so far; taken before reading an answer to keep.
    var clears: Int { entries.withLock { $0.clears } }

    /// Keeps `body` for `key`, unless the cache was cleared since the answer was read (`clearsBefore`):
    /// it may predate the change. When full, drops what is stale first, and keeps nothing more if
    /// that is not enough.
    func keep(_ body: ByteBuffer, contentType: String?, for key: String, readAfter clearsBefore: Int, now: ContinuousClock.Instant) {
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

/// Serves the routes it is added to from a ``PublicReadCache``.
struct PublicReadCacheMiddleware: RouterMiddleware {
    typealias Context = GuildRequestContext
    let cache: PublicReadCache
    /// The answer depends on who asks: requests with credentials pass by the cache.
    let variesByCaller: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get, !variesByCaller || request.headers[.authorization] == nil else { return try await next(request, context) }
        let key = request.uri.description
        if let kept = cache.answer(for: key, now: .now) { return kept }
        let clears = cache.clears
        let response = try await next(request, context)
        guard response.status == .ok else { return response }
        let collector = BodyCollector()
        try await response.body.write(CollectingWriter(collector: collector))
        let bytes = collector.buffer
        cache.keep(bytes, contentType: response.headers[.contentType], for: key, readAfter: clears, now: .now)
        var answer = response
        answer.body = ResponseBody(byteBuffer: bytes)
        return answer
    }
}

/// Clears the ``PublicReadCache`` after every successful write through this listener, and has
/// the other replicas clear theirs, so a change shows everywhere at once.
struct ClearCacheOnWriteMiddleware: RouterMiddleware {
    typealias Context = GuildRequestContext
    let cache: PublicReadCache
    let redis: RedisClient

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        guard request.method != .get, request.method != .head, (200..<300).contains(response.status.code), cache.isUsed else { return response }
        cache.clear()
        do {
            _ = try await redis.publish("clear", to: cache.channel)
        } catch {
            // The others' answers are still at most the cache's lifetime old.
            context.logger.debug("could not tell the other replicas to clear their public reads", metadata: ["error": "\(error)"])
        }
        return response
    }
}

extension PublicReadCache {
    /// Clears the cache whenever another replica says so (and on every (re)connection, for what
    /// may have been said meanwhile).
    func listener(redis: RedisConfiguration, logger: Logger) -> RedisSubscriber {
        RedisSubscriber(
            configuration: redis, channels: [channel], logger: logger,
            onSubscribed: { [self] in clear() },
            onMessage: { [self] _ in clear() }
        )
    }
}

/// Where a response body's bytes are gathered.
private final class BodyCollector {
    var buffer = ByteBuffer()
}

private struct CollectingWriter: ResponseBodyWriter {
    let collector: BodyCollector

    mutating func write(_ buffer: ByteBuffer) async throws {
        var buffer = buffer
        collector.buffer.writeBuffer(&buffer)
    }

    consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
