import Dispatch
import NIOCore
import NIOPosix

/// The process's event loops, handed out strictly in turn.
///
/// PostgresNIO opens each pooled connection on `any()`, which, asked from an event loop, answers
/// that same loop. With tasks running on the event loops (see ``runGuildService(_:)``) every
/// connection would then sit on one loop, and every handler would continue there after its first
/// query: one busy thread and one idle one. Handing loops out in turn spreads them.
final class EventLoopsInTurn: EventLoopGroup, Sendable {
    static let shared = EventLoopsInTurn(MultiThreadedEventLoopGroup.singleton)
    private let base: MultiThreadedEventLoopGroup

    init(_ base: MultiThreadedEventLoopGroup) { self.base = base }

    func next() -> any EventLoop { base.next() }
    func any() -> any EventLoop { base.next() }
    func makeIterator() -> EventLoopIterator { base.makeIterator() }
    func shutdownGracefully(queue: DispatchQueue, _ callback: @escaping @Sendable ((any Error)?) -> Void) {
        base.shutdownGracefully(queue: queue, callback)
    }
}
