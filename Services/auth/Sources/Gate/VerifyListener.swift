import Foundation
import GuildAuth
import GuildConcurrency
import GuildCore
import GuildServiceKit
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization

/// nginx's gate: `GET|POST /api/auth/verify-token` on a listener of its own (`VERIFY_PORT`).
///
/// Every gated request of the whole system passes through here once, so this path is kept to
/// what it must do: read the request head (``GateRequest``), look the token up in the
/// verified-token cache (honouring expiry and revocation), answer. It runs as one SwiftNIO
/// handler on the event loop that read the request, with no HTTP codec, task, router or
/// middleware per request; only a token not seen before has its signature checked
/// asynchronously. The answers are the same as the public route's: 200 with `X-User-Id`,
/// `X-User-Role`, `X-Session-Id`, or 401. Neither has a body, so nginx keeps the connection after
/// a refusal too.
///
/// The listener has event loops of its own (`VERIFY_THREADS`, default one), apart from the ones
/// that serve auth's API: one loop answers over 100 000 cached tokens a second, and two loops of
/// one process taking turns on a busy core are what made verify-token's tail slow. It binds only
/// once `ready` opens, when the revocations have been loaded.
struct VerifyListener: Service {
    let host: String
    let port: Int
    let threads: Int
    let verifier: TokenVerifier
    /// Opens once revocations are loaded; the listener binds only then.
    let ready: ReadySignal
    let logger: Logger

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await ready.wait() }
        } catch is CancellationError {
            return
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        do {
            try await serve(on: group)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }

    private func serve(on group: MultiThreadedEventLoopGroup) async throws {
        let connections = OpenConnections()
        let responses = ResponseCounters(service: "auth")
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [verifier] channel in
                connections.add(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(VerifyConnection(verifier: verifier, responses: responses))
                }
            }
            .bind(host: host, port: port)
            .get()
        logger.info("verify-token listener started", metadata: ["address": "\(server.localAddress.map { "\($0)" } ?? "?")"])
        try await withTaskCancellationOrGracefulShutdownHandler {
            try await server.closeFuture.get()
        } onCancelOrGracefulShutdown: {
            server.close(promise: nil)
        }
        // No new connections; the open ones finish the request in flight and close.
        await connections.quiesce()
    }
}

/// The listener's open connections, so that shutdown can let each finish its request.
final class OpenConnections: Sendable {
    private let channels = Mutex<[ObjectIdentifier: any Channel]>([:])

    func add(_ channel: any Channel) {
        let id = ObjectIdentifier(channel)
        channels.withLock { $0[id] = channel }
        channel.closeFuture.whenComplete { [self] _ in _ = channels.withLock { $0.removeValue(forKey: id) } }
    }

    /// Asks every connection to close once idle (``VerifyConnection`` closes an idle one at once
    /// and one waiting for a signature check after its answer) and waits until all have.
    func quiesce() async {
        let open = channels.withLock { Array($0.values) }
        for channel in open {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        for channel in open {
            try? await channel.closeFuture.get()
        }
    }
}

/// One connection from nginx: reads request heads as they come (pipelined ones in order), answers
/// each from the verified-token cache on the event loop, and flushes once per read.
final class VerifyConnection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The longest request head accepted: anything nginx forwards (its request line and each
    /// header are at most 8 KiB, and the gate passes on the token and the original URI), so that
    /// an oversized request is answered as what it is — usually a token too long to be one (401)
    /// — and never as a gate failure, which nginx would turn into a 5xx.
    static let headLimit = 64 * 1024

    private let verifier: TokenVerifier
    private let responses: ResponseCounters
    /// Bytes received and not handled yet.
    private var received: ByteBuffer?
    /// What is left of the current request's body, skipped unread.
    private var bodyToSkip = 0
    /// A first-seen token's signature is being checked; later requests wait for its answer.
    private var checking = false
    /// Shutdown asked this connection to close after the answer under way.
    private var closeAfterAnswer = false
    private var closed = false

    init(verifier: TokenVerifier, responses: ResponseCounters) {
        self.verifier = verifier
        self.responses = responses
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closed else { return }
        var bytes = unwrapInboundIn(data)
        if received == nil {
            received = bytes
        } else {
            received!.writeBuffer(&bytes)
        }
        if checking, received!.readableBytes > Self.headLimit {
            return fail(.init(status: 431, code: "headers_too_large", message: "too much pipelined input"), context: context)
        }
        handleReceived(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        received = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        close(context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent else { return context.fireUserInboundEventTriggered(event) }
        if checking {
            closeAfterAnswer = true
        } else {
            close(context: context)
        }
    }

    /// Answers every whole request received, in order, until one needs its signature checked.
    private func handleReceived(context: ChannelHandlerContext) {
        var answered = false
        defer { if answered { context.flush() } }
        while !checking, !closed, var buffer = received.take(), buffer.readableBytes > 0 {
            if bodyToSkip > 0 {
                let skipped = min(bodyToSkip, buffer.readableBytes)
                buffer.moveReaderIndex(forwardBy: skipped)
                bodyToSkip -= skipped
                received = buffer
                continue
            }
            let parsed = buffer.withUnsafeReadableBytes { GateRequest.parse($0, limit: Self.headLimit) }
            switch parsed {
            case .incomplete:
                received = buffer
                return
            case .malformed:
                return fail(.init(status: 400, code: "malformed_request", message: "not an HTTP/1.x request this listener can read"), context: context)
            case .tooLarge:
                return fail(.init(status: 431, code: "headers_too_large", message: "the request head is too large"), context: context)
            case .request(let request, let length):
                buffer.moveReaderIndex(forwardBy: length)
                received = buffer
                bodyToSkip = request.bodyLength
                answered = true
                answer(request, context: context)
            }
        }
    }

    private func answer(_ request: GateRequest, context: ChannelHandlerContext) {
        guard request.isVerifyPath else {
            return write(error: .notFound("route"), request: request, context: context)
        }
        guard request.method != .other else {
            return write(error: .methodNotAllowed(allowed: ["GET", "POST"]), request: request, context: context)
        }
        guard let token = request.authorization.flatMap(TokenVerifier.bearerToken) else {
            return write(nil, request: request, context: context)
        }
        switch verifier.cachedAnswer(token) {
        case .valid(let identity):
            write(identity, request: request, context: context)
        case .refused:
            write(nil, request: request, context: context)
        case .unknown:
            // First sight of this token: its signature is checked once, then it is cached.
            checking = true
            let promise = context.eventLoop.makePromise(of: Identity?.self)
            promise.completeWithTask { [verifier] in try? await verifier.verify(token) }
            promise.futureResult.assumeIsolated().whenSuccess { identity in
                self.checking = false
                guard !self.closed else { return }
                self.write(identity, request: request, context: context)
                context.flush()
                if self.closeAfterAnswer { return self.close(context: context) }
                self.handleReceived(context: context)
            }
        }
    }

    /// 200 with the identity headers, or 401 without one; no body either way.
    private func write(_ identity: Identity?, request: GateRequest, context: ChannelHandlerContext) {
        var head = context.channel.allocator.buffer(capacity: 224)
        if let identity {
            head.writeStaticString("HTTP/1.1 200 OK\r\n")
            head.writeField(HTTPField.Name.userId.rawName, identity.userId)
            head.writeField(HTTPField.Name.userRole.rawName, identity.role.rawValue)
            head.writeField(HTTPField.Name.sessionId.rawName, identity.sessionId)
        } else {
            head.writeStaticString("HTTP/1.1 401 Unauthorized\r\n")
        }
        head.writeStaticString("Cache-Control: no-store\r\nContent-Length: 0\r\n")
        finish(head, status: identity == nil ? 401 : 200, keepAlive: request.keepAlive, context: context)
    }

    /// An error in the contract's JSON shape, for requests that are not verify-token calls.
    private func write(error: APIError, request: GateRequest?, context: ChannelHandlerContext) {
        let json = error.jsonBody(requestId: request?.requestId)
        var head = context.channel.allocator.buffer(capacity: 160 + json.count)
        head.writeString("HTTP/1.1 \(error.statusCode) \(HTTPResponseStatus(statusCode: error.statusCode).reasonPhrase)\r\n")
        for field in error.headers { head.writeField(field.name.rawName, field.value) }
        head.writeStaticString("Content-Type: application/json; charset=utf-8\r\n")
        head.writeField("Content-Length", String(json.count))
        finish(head, body: json, status: error.statusCode, keepAlive: request?.keepAlive ?? false, context: context)
    }

    /// A request that cannot be read: its error, and the connection closed, since it is out of step.
    private func fail(_ error: APIError, context: ChannelHandlerContext) {
        write(error: error, request: nil, context: context)
    }

    private func finish(_ head: ByteBuffer, body: Data? = nil, status: Int, keepAlive: Bool, context: ChannelHandlerContext) {
        var head = head
        head.writeStaticString(keepAlive ? "\r\n" : "Connection: close\r\n\r\n")
        if let body { head.writeBytes(body) }
        responses.count(status)
        guard !keepAlive else { return context.write(wrapOutboundOut(head), promise: nil) }
        received = nil
        closed = true
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(head), promise: written)
        written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    private func close(context: ChannelHandlerContext) {
        guard !closed else { return }
        closed = true
        received = nil
        context.close(promise: nil)
    }
}

extension ByteBuffer {
    fileprivate mutating func writeField(_ name: String, _ value: String) {
        writeString(name)
        writeStaticString(": ")
        writeString(value)
        writeStaticString("\r\n")
    }
}
