import GuildRedis
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// Serves the routes it is added to from a ``PublicReadCache``.
struct PublicReadCacheMiddleware: RouterMiddleware {
    typealias Context = GuildRequestContext
    let cache: PublicReadCache
    /// The answer depends on who asks: requests with credentials pass by the cache.
    let variesByCaller: Bool
    /// What a kept answer tells the proxy in front (nginx/): it may keep the answer too, for at
    /// most a second (nginx's own key moves on every quarter second, so it serves it for less),
    /// and, where the answer depends on the caller, only to callers without credentials.
    private let keepable: HTTPFields

    init(cache: PublicReadCache, variesByCaller: Bool) {
        self.cache = cache
        self.variesByCaller = variesByCaller
        var keepable: HTTPFields = [Self.proxyExpires: "1"]
        if variesByCaller { keepable[.vary] = "Authorization" }
        self.keepable = keepable
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .get, !variesByCaller || request.headers[.authorization] == nil else {
            var response = try await next(request, context)
            if variesByCaller { response.headers[.vary] = "Authorization" }
            return response
        }
        let key = request.uri.description
        if let kept = cache.answer(for: key, now: .now) {
            var headers = keepable
            if let contentType = kept.contentType { headers[.contentType] = contentType }
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: kept.body))
        }
        let clears = cache.clears
        let response = try await next(request, context)
        guard response.status == .ok else { return response }
        let collector = BodyCollector()
        try await response.body.write(CollectingWriter(collector: collector))
        let bytes = collector.buffer
        cache.keep(bytes, contentType: response.headers[.contentType], for: key, readAfter: clears, now: .now)
        var answer = response
        answer.headers.append(contentsOf: keepable)
        answer.body = ResponseBody(byteBuffer: bytes)
        return answer
    }

    /// nginx's `X-Accel-Expires`: seconds the proxy may keep an answer (never shown to clients).
    static let proxyExpires = HTTPField.Name("X-Accel-Expires")!
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
