import GuildLive
import Testing

/// The bounded queue of what one connection has yet to send.
@Suite("The connection outbox: in order, bounded, one reader")
struct ConnectionOutboxTests {
    @Test func itHandsOutInOrderThenItsCloseReason() async {
        let outbox = ConnectionOutbox()
        outbox.push(frame: "a")
        outbox.push([.frame("b", ack: 1), .acknowledgement(2)])
        #expect(await outbox.next() == .deliveries([.frame("a", ack: nil), .frame("b", ack: 1), .acknowledgement(2)]))
        outbox.push(packet: "c")
        outbox.close(.ended)
        outbox.push(frame: "after")
        outbox.close(.shutdown)  // the first reason is kept
        #expect(!outbox.isDrained)
        #expect(outbox.closeReason == .ended)
        #expect(await outbox.next() == .deliveries([.packet("c")]))
        #expect(outbox.isDrained)
        #expect(await outbox.next() == .closed(.ended))
        #expect(await outbox.closed() == .ended)
    }

    @Test func aReaderTakesAtMostWhatItAsksFor() async {
        let outbox = ConnectionOutbox()
        for index in 0..<5 { outbox.push(frame: "\(index)") }
        #expect(await outbox.next(upTo: 2) == .deliveries([.frame("0", ack: nil), .frame("1", ack: nil)]))
        #expect(await outbox.next(upTo: 0) == .deliveries([.frame("2", ack: nil)]), "a reader always gets one at least")
        #expect(await outbox.next() == .deliveries([.frame("3", ack: nil), .frame("4", ack: nil)]))
    }

    @Test func pastItsBoundOfDeliveriesItDropsEverythingAndClosesForOverflow() async {
        let outbox = ConnectionOutbox(limits: .init(deliveries: 3, bytes: 1 << 20))
        for index in 0..<3 { outbox.push(frame: "\(index)") }
        #expect(outbox.closeReason == nil, "at the bound is not past it")
        outbox.push(frame: "3")
        #expect(outbox.closeReason == .overflow)
        #expect(outbox.isDrained, "an overflow keeps nothing")
        #expect(await outbox.next() == .closed(.overflow))
    }

    @Test func pastItsBoundOfBytesItClosesButOneLargeDeliveryFitsAnEmptyOutbox() async {
        let outbox = ConnectionOutbox(limits: .init(deliveries: 100, bytes: 10))
        outbox.push(frame: String(repeating: "x", count: 50))
        #expect(outbox.closeReason == nil)
        outbox.push(frame: "y")
        #expect(outbox.closeReason == .overflow)

        let taken = ConnectionOutbox(limits: .init(deliveries: 100, bytes: 10))
        taken.push(frame: "12345")
        _ = await taken.next()
        taken.push(frame: "1234567890")  // what was taken no longer counts
        #expect(taken.closeReason == nil)
    }

    @Test func theLastFrameOfASessionComesLastEvenPastTheBound() async {
        let outbox = ConnectionOutbox(limits: .init(deliveries: 2, bytes: 1 << 20))
        outbox.push(frame: "a")
        outbox.push(frame: "b")
        outbox.end(lastFrame: "revoked")
        outbox.end(lastFrame: "expired")  // the first end wins
        #expect(outbox.closeReason == .sessionEnded)
        #expect(await outbox.next() == .deliveries([.frame("a", ack: nil), .frame("b", ack: nil), .last("revoked")]))
        #expect(await outbox.next() == .closed(.sessionEnded))

        let closed = ConnectionOutbox()
        closed.close(.shutdown)
        closed.end(lastFrame: "too late")
        #expect(await closed.next() == .closed(.shutdown))
    }

    @Test func aWaitingReaderGetsWhatArrivesAndTheEndAtOnce() async {
        let outbox = ConnectionOutbox()
        async let first = outbox.next()
        while !outbox.hasReader { await Task.yield() }
        outbox.push(frame: "a")
        #expect(await first == .deliveries([.frame("a", ack: nil)]))
        async let second = outbox.next()
        while !outbox.hasReader { await Task.yield() }
        outbox.end(lastFrame: "bye")
        #expect(await second == .deliveries([.last("bye")]))
        async let third = outbox.next()
        #expect(await third == .closed(.sessionEnded))
    }

    @Test func aNewerReaderTakesOverAndACancelledOrReleasedOneGetsNothing() async {
        let outbox = ConnectionOutbox()
        let first = Task { await outbox.next() }
        while !outbox.hasReader { await Task.yield() }
        let second = Task { await outbox.next() }
        #expect(await first.value == .deliveries([]))
        second.cancel()
        #expect(await second.value == .deliveries([]))
        #expect(!outbox.hasReader)
        let third = Task { await outbox.next() }
        while !outbox.hasReader { await Task.yield() }
        outbox.releaseReader()
        #expect(await third.value == .deliveries([]))
        outbox.push(frame: "kept")
        #expect(await outbox.next() == .deliveries([.frame("kept", ack: nil)]), "a reader cut short loses nothing")
    }

    @Test func aCloseWatcherHearsTheReasonOrNothingWhenCancelled() async {
        let outbox = ConnectionOutbox()
        let watcher = Task { await outbox.closed() }
        let cancelled = Task { await outbox.closed() }
        cancelled.cancel()
        #expect(await cancelled.value == nil)
        outbox.close(.pingTimeout)
        #expect(await watcher.value == .pingTimeout)
        #expect(await outbox.closed() == .pingTimeout)
    }

    @Test func manyProducersLoseNothingAndKeepEachOnesOrder() async {
        let outbox = ConnectionOutbox(limits: .init(deliveries: 10_000, bytes: 1 << 20))
        await withTaskGroup(of: Void.self) { group in
            for producer in 0..<4 {
                group.addTask { for index in 0..<500 { outbox.push(frame: "\(producer):\(index)") } }
            }
        }
        outbox.close(.ended)
        var seen: [Int: Int] = [:]
        while case .deliveries(let deliveries) = await outbox.next(upTo: 64) {
            for case .frame(let text, _) in deliveries {
                let parts = text.split(separator: ":").compactMap { Int($0) }
                #expect(parts[1] == seen[parts[0], default: 0], "\(text) out of order")
                seen[parts[0]] = parts[1] + 1
            }
        }
        #expect(seen == [0: 500, 1: 500, 2: 500, 3: 500])
    }
}
