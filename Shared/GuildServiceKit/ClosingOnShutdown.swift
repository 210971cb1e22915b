import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Ends the HTTP connections a stop would otherwise wait on, so that a service always stops
/// within its grace period.
///
/// When a stop begins (``ServiceWatch/stopConnections()``, as SIGTERM arrives) every HTTP
/// connection is told. One between requests is closed at once — also one that has sent part of
/// a request head, which the HTTP handlers would wait for until the client sends the rest (a
/// slow or stalled client; neither their quiescing nor their cancellation ends it). One with a
/// request under way finishes it; if it is still open `limit` later, it is closed, leaving the
/// rest of the grace period to the service's background work.
final class ClosingOnShutdown: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limit: TimeAmount
    /// Request heads read whose response has not ended yet.
    private var underWay = 0
    private var quiescing = false
    private var deadline: Scheduled<Void>?

    init(limit: Duration) {
        self.limit = TimeAmount(limit)
    }

    /// How long a request under way may still take once a stop began: the grace period, less a
    /// second (at least half of it) for what the service does after its HTTP connections end.
    static func limit(grace: Duration) -> Duration {
        max(grace - .seconds(1), grace / 2)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { underWay += 1 }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else { return context.write(data, promise: promise) }
        underWay = max(0, underWay - 1)
        guard quiescing, underWay == 0 else { return context.write(data, promise: promise) }
        // The last answer of a stopping server's connection: written, then the connection ends.
        let written = promise ?? context.eventLoop.makePromise()
        context.write(data, promise: written)
        written.futureResult.hop(to: context.eventLoop).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    func handlerAdded(context: ChannelHandlerContext) {
        ServiceWatch.shared.register(context.channel)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ServerStopping || event is ChannelShouldQuiesceEvent, !quiescing {
            quiescing = true
            if underWay == 0 {
                context.close(promise: nil)
                if event is ServerStopping { return }
            }
            deadline = context.eventLoop.assumeIsolated().scheduleTask(in: limit) { context.close(promise: nil) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
        ServiceWatch.shared.unregister(context.channel)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        // Upgraded to a WebSocket, or closed: the gateway ends a WebSocket on a stop itself.
        deadline?.cancel()
        deadline = nil
        ServiceWatch.shared.unregister(context.channel)
    }
}

/// The event ``ServiceWatch/stopConnections()`` sends every HTTP connection when a stop begins.
struct ServerStopping: Sendable {}

/// On the listening socket: every connection it accepts is known to ``ServiceWatch``, so that a
/// stop can end also those no HTTP handler of ours has seen yet (a first request still arriving
/// on a server that can upgrade to WebSockets, whose HTTP handlers come with the first head)
/// and WebSockets whose gateway did not close them in time.
final class AcceptedConnections: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = any Channel
    typealias InboundOut = any Channel

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        ServiceWatch.shared.accepted(unwrapInboundIn(data))
        context.fireChannelRead(data)
    }
}
