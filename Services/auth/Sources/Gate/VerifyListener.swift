import GuildAuth
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
/// what it must do: parse the request, look the token up in the verified-token cache (honouring
/// expiry and revocation), answer. It runs as a plain SwiftNIO handler on the event loop that
/// read the request, with no task, router or middleware per request; only a token not seen
/// before has its signature checked asynchronously. The answers are the same as the public
/// route's: 200 with `X-User-Id`, `X-User-Role`, `X-Session-Id`, or 401. Neither has a body, so
/// nginx keeps the connection after a refusal too.
struct VerifyListener: Service {
    let host: String
    let port: Int
    let verifier: TokenVerifier
    let logger: Logger

    func run() async throws {
        let connections = OpenConnections()
        let responses = ResponseCounters(service: "auth")
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [verifier] channel in
                connections.add(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(VerifyHandler(verifier: verifier, responses: responses))
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

    /// Asks every connection to close once idle (NIO's HTTP pipeline closes an idle one at once
    /// and a busy one after its response) and waits until all have.
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

/// Answers one connection's verify-token requests, one at a time (NIO's pipeline handler holds
/// back a pipelined request until the previous answer is written).
final class VerifyHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let path = "/api/auth/verify-token"

    private let verifier: TokenVerifier
    private let responses: ResponseCounters
    private var head: HTTPRequestHead?

    init(verifier: TokenVerifier, responses: ResponseCounters) {
        self.verifier = verifier
        self.responses = responses
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
        case .body:
            break  // verify-token reads no body
        case .end:
            guard let head else { return }
            self.head = nil
            answer(head, context: context)
        }
    }

    /// A request NIO could not parse has had its 400 (from NIO's error handler); the connection
    /// cannot be trusted to be in step any more.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let path = head.uri.utf8.firstIndex(of: UInt8(ascii: "?")).map { head.uri[..<$0] } ?? Substring(head.uri)
        guard path == Self.path else {
            return respond(.notFound, error: #"{"error":{"code":"not_found","message":"route not found"}}"#, to: head, context: context)
        }
        guard head.method == .GET || head.method == .POST else {
            return respond(.methodNotAllowed, error: #"{"error":{"code":"method_not_allowed","message":"use GET or POST"}}"#, to: head, context: context)
        }
        guard let token = head.headers.first(name: "authorization").flatMap(TokenVerifier.bearerToken) else {
            return respond(nil, to: head, context: context)
        }
        switch verifier.cachedAnswer(token) {
        case .valid(let identity):
            respond(identity, to: head, context: context)
        case .refused:
            respond(nil, to: head, context: context)
        case .unknown:
            // First sight of this token: its signature is checked once, then it is cached.
            let promise = context.eventLoop.makePromise(of: Identity?.self)
            promise.completeWithTask { [verifier] in try? await verifier.verify(token) }
            promise.futureResult.assumeIsolated().whenSuccess { identity in
                self.respond(identity, to: head, context: context)
            }
        }
    }

    /// 200 with the identity headers, or 401 without one; no body either way.
    private func respond(_ identity: Identity?, to request: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        if let identity {
            headers.add(name: HTTPField.Name.userId.rawName, value: identity.userId)
            headers.add(name: HTTPField.Name.userRole.rawName, value: identity.role.rawValue)
            headers.add(name: HTTPField.Name.sessionId.rawName, value: identity.sessionId)
        }
        headers.add(name: "Cache-Control", value: "no-store")
        write(identity == nil ? .unauthorized : .ok, headers: headers, body: nil, to: request, context: context)
    }

    /// An error in the contract's JSON shape, for requests that are not verify-token calls.
    private func respond(_ status: HTTPResponseStatus, error body: StaticString, to request: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        if status == .methodNotAllowed { headers.add(name: "Allow", value: "GET, POST") }
        write(status, headers: headers, body: ByteBuffer(staticString: body), to: request, context: context)
    }

    private func write(
        _ status: HTTPResponseStatus, headers: HTTPHeaders, body: ByteBuffer?, to request: HTTPRequestHead, context: ChannelHandlerContext
    ) {
        var headers = headers
        headers.add(name: "Content-Length", value: String(body?.readableBytes ?? 0))
        let keepAlive = request.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        responses.count(Int(status.code))
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        if keepAlive {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            let written = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
            written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
