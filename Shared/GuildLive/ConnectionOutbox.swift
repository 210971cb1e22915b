import Synchronization

/// What one live connection has yet to send, in order, and bounded.
///
/// Producers (a fan-out, the connection's own answers, the transport's packets) push without waiting;
/// the connection's gateway takes what is ready when its transport can carry it: the `/ws`
/// writer as fast as the client reads, a socket.io polling client at its next `GET`. A client
/// that falls behind by more than ``Limits`` would otherwise make the queue grow without bound,
/// so the outbox then drops everything it holds and closes with ``CloseReason/overflow``; the
/// gateway ends the connection (the client reconnects and catches up with `since`).
public final class ConnectionOutbox: Sendable {
    /// How much may wait to be sent.
    public struct Limits: Sendable {
        /// Deliveries waiting.
        public var deliveries: Int
        /// Bytes of text waiting (one delivery larger than this alone, such as a long room
        /// history, is still accepted into an empty outbox).
        public var bytes: Int

        public init(deliveries: Int, bytes: Int) {
            self.deliveries = deliveries
            self.bytes = bytes
        }

        /// 1024 deliveries or 4 MiB, whichever comes first: a busy room's burst fits many times
        /// over, a reader that has stopped reading is found within seconds.
        public static let standard = Limits(deliveries: 1024, bytes: 4 << 20)
    }

    /// One thing to send.
    public enum Delivery: Sendable, Equatable {
        /// A frame (a JSON object with a `type`); `ack` when it answers a client's frame that
        /// asked for an acknowledgement (socket.io).
        case frame(String, ack: Int?)
        /// An acknowledgement without a frame (a socket.io client asked for one where a plain
        /// WebSocket answers nothing).
        case acknowledgement(Int)
        /// A packet of the transport's own (Engine.IO ping, socket.io CONNECT answer), sent as it is.
        case packet(String)
        /// The last frame a connection is sent when the session it stands on ends (see ``end(lastFrame:)``).
        case last(String)

        var byteCount: Int {
            switch self {
            case .frame(let text, _), .packet(let text), .last(let text): text.utf8.count
            case .acknowledgement: 8
            }
        }
    }

    /// Why an outbox stopped.
    public enum CloseReason: Sendable, Equatable {
        /// The client did not read what was sent to it fast enough.
        case overflow
        /// The client did not answer the transport's ping in time.
        case pingTimeout
        /// The client never signed in (socket.io: no successful CONNECT in time).
        case notAuthenticated
        /// This replica is stopping.
        case shutdown
        /// The session the connection stands on ended (``Delivery/last(_:)`` is its last delivery).
        case sessionEnded
        /// The client broke the transport's protocol (a packet that cannot be parsed, or out of turn).
        case protocolError
        /// The connection ended (closed by the client, or ended by the transport).
        case ended
    }

    /// What ``next(upTo:)`` hands out.
    public enum Next: Sendable, Equatable {
        /// What is ready, in order (empty when the wait was cut short: cancelled, or taken over
        /// by a newer reader).
        case deliveries([Delivery])
        /// Nothing more will come.
        case closed(CloseReason)
    }

    private struct Waiter {
        var id: UInt64
        var limit = Int.max
        var continuation: CheckedContinuation<Next, Never>
    }

    private struct State {
        var queue: [Delivery] = []
        var head = 0
        var bytes = 0
        var closed: CloseReason?
        var reader: Waiter?
        var closeWatchers: [Waiter] = []
        var nextWaiterId: UInt64 = 0

        var isEmpty: Bool { head == queue.count }

        /// Takes up to `limit` deliveries, or the reason it closed once everything was taken.
        mutating func take(upTo limit: Int) -> Next? {
            if !isEmpty {
                let end = head + min(queue.count - head, max(1, limit))
                let taken = Array(queue[head..<end])
                head = end
                for delivery in taken { bytes -= delivery.byteCount }
                if isEmpty {
                    queue.removeAll(keepingCapacity: queue.count <= 64)
                    head = 0
                } else if head >= 256 {
                    queue.removeFirst(head)
                    head = 0
                }
                return .deliveries(taken)
            }
            return closed.map(Next.closed)
        }

        mutating func makeWaiterId() -> UInt64 {
            nextWaiterId += 1
            return nextWaiterId
        }
    }

    private let limits: Limits
    private let state = Mutex(State())

    /// Creates an empty, open outbox.
    public init(limits: Limits = .standard) {
        self.limits = limits
    }

    // MARK: Producing

    /// Queues `deliveries`, in order (nothing once the outbox is closed).
    public func push(_ deliveries: [Delivery]) {
        enqueue(deliveries)
    }

    /// Queues one delivery.
    public func push(_ delivery: Delivery) {
        enqueue([delivery])
    }

    /// Queues a frame; `ack` when it answers a client's frame that asked for an acknowledgement.
    public func push(frame: String, ack: Int? = nil) {
        enqueue([.frame(frame, ack: ack)])
    }

    /// Queues a packet of the transport's own.
    public func push(packet: String) {
        enqueue([.packet(packet)])
    }

    /// Closes the outbox: a reader gets what is still queued, then `reason` (the first reason
    /// given is kept). Closing for ``CloseReason/overflow`` drops what is queued.
    public func close(_ reason: CloseReason) {
        close(reason, last: nil)
    }

    /// Ends the connection because its session ended: `lastFrame` (which says why) is queued
    /// after whatever waits (past the limits, as the last delivery), and the outbox closes with
    /// ``CloseReason/sessionEnded``. Nothing happens to an outbox already closed.
    public func end(lastFrame: String) {
        close(.sessionEnded, last: .last(lastFrame))
    }

    private func close(_ reason: CloseReason, last: Delivery?) {
        let (reader, ready, watchers) = state.withLock { state -> (Waiter?, Next?, [Waiter]) in
            guard state.closed == nil else { return (nil, nil, []) }
            state.closed = reason
            if reason == .overflow {
                state.queue = []
                state.head = 0
                state.bytes = 0
            }
            if let last {
                state.queue.append(last)
                state.bytes += last.byteCount
            }
            let watchers = state.closeWatchers
            state.closeWatchers = []
            guard let reader = state.reader else { return (nil, nil, watchers) }
            state.reader = nil
            return (reader, state.take(upTo: reader.limit), watchers)
        }
        if let reader, let ready { reader.continuation.resume(returning: ready) }
        for watcher in watchers { watcher.continuation.resume(returning: .closed(reason)) }
    }

    /// Whether a reader is waiting.
    public var hasReader: Bool { state.withLock { $0.reader != nil } }

    /// Whether the outbox is closed and everything it held has been taken.
    public var isDrained: Bool { state.withLock { $0.closed != nil && $0.isEmpty } }

    /// Why the outbox closed, or nil while it is open.
    public var closeReason: CloseReason? { state.withLock { $0.closed } }

    private func enqueue(_ deliveries: [Delivery]) {
        guard !deliveries.isEmpty else { return }
        var overflowed = false
        let (reader, ready) = state.withLock { state -> (Waiter?, Next?) in
            guard state.closed == nil else { return (nil, nil) }
            for delivery in deliveries {
                let waiting = state.queue.count - state.head
                if waiting >= limits.deliveries || (waiting > 0 && state.bytes + delivery.byteCount > limits.bytes) {
                    overflowed = true
                    return (nil, nil)
                }
                state.queue.append(delivery)
                state.bytes += delivery.byteCount
            }
            guard let reader = state.reader else { return (nil, nil) }
            state.reader = nil
            return (reader, state.take(upTo: reader.limit))
        }
        if let reader, let ready { reader.continuation.resume(returning: ready) }
        if overflowed { close(.overflow) }
    }

    // MARK: Consuming

    /// Waits for deliveries (up to `limit` of them) or for the outbox to close.
    ///
    /// One reader at a time: a second reader takes over, and the first gets an empty answer at
    /// once (a socket.io client's new poll, or the WebSocket it upgraded to). So does a reader
    /// whose task is cancelled.
    public func next(upTo limit: Int = .max) async -> Next {
        let id = state.withLock { $0.makeWaiterId() }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Next, Never>) in
                let (answer, superseded) = state.withLock { state -> (Next?, Waiter?) in
                    if let ready = state.take(upTo: limit) { return (ready, nil) }
                    if Task.isCancelled { return (.deliveries([]), nil) }
                    let superseded = state.reader
                    state.reader = Waiter(id: id, limit: limit, continuation: continuation)
                    return (nil, superseded)
                }
                superseded?.continuation.resume(returning: .deliveries([]))
                if let answer { continuation.resume(returning: answer) }
            }
        } onCancel: {
            let reader = state.withLock { state -> Waiter? in
                guard state.reader?.id == id else { return nil }
                defer { state.reader = nil }
                return state.reader
            }
            reader?.continuation.resume(returning: .deliveries([]))
        }
    }

    /// Ends the wait of the current reader with an empty answer (a socket.io client upgrading
    /// to WebSocket must see its pending poll end).
    public func releaseReader() {
        let reader = state.withLock { state -> Waiter? in
            defer { state.reader = nil }
            return state.reader
        }
        reader?.continuation.resume(returning: .deliveries([]))
    }

    /// Waits until the outbox closes and returns why; nil when the waiting task is cancelled first.
    ///
    /// A gateway waits for this beside its writer: a writer stuck behind a client that reads
    /// nothing cannot notice the overflow itself.
    public func closed() async -> CloseReason? {
        let id = state.withLock { $0.makeWaiterId() }
        let next = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Next, Never>) in
                let answer = state.withLock { state -> Next? in
                    if let reason = state.closed { return .closed(reason) }
                    if Task.isCancelled { return .deliveries([]) }
                    state.closeWatchers.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let answer { continuation.resume(returning: answer) }
            }
        } onCancel: {
            let watcher = state.withLock { state -> Waiter? in
                guard let index = state.closeWatchers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.closeWatchers.remove(at: index)
            }
            watcher?.continuation.resume(returning: .deliveries([]))
        }
        if case .closed(let reason) = next { return reason }
        return nil
    }
}
