import Foundation
import GuildCore
import GuildLive
import Synchronization
import Testing

/// One Engine.IO session, no server: its states (not connected, connected, closed), its
/// transports and their changes, its heartbeat, and what breaking the protocol does.
@Suite("The Engine.IO session: states, transitions, the heartbeat, protocol errors")
struct EngineSessionTests {
    /// An application that takes the token `good`, and writes down what its sockets are told.
    final class Recorder: SocketIONamespace, Sendable {
        let log = Mutex<[String]>([])

        func authenticate(_ auth: JSONValue?) async throws(SocketIOConnectRefusal) -> String {
            guard auth?["token"]?.stringValue == "good" else { throw SocketIOConnectRefusal("no entry") }
            return "member"
        }

        func open(_ credentials: String, outbox: ConnectionOutbox) -> any SocketIOSocket {
            log.withLock { $0.append("open \(credentials)") }
            outbox.push(frame: #"{"type":"welcome"}"#)
            return Socket(recorder: self, outbox: outbox)
        }

        var entries: [String] { log.withLock { $0 } }
    }

    struct Socket: SocketIOSocket {
        let recorder: Recorder
        let outbox: ConnectionOutbox

        func event(_ name: String, arguments: [JSONValue], attachments: [Data], ack: Int?) async {
            recorder.log.withLock { $0.append("event \(name) \(arguments.count) \(attachments.map(\.count)) \(ack.map(String.init) ?? "-")") }
            if let ack { outbox.push(frame: #"{"type":"done"}"#, ack: ack) }
        }

        func disconnect() async {
            recorder.log.withLock { $0.append("disconnect") }
        }
    }

    private static func session(_ transport: EngineSession.Transport = .polling) -> (EngineSession, Recorder) {
        let recorder = Recorder()
        return (EngineSession(sid: "r.1", transport: transport, namespace: recorder), recorder)
    }

    /// A session whose client has connected, its CONNECT answer and the welcome taken.
    private static func connected(_ transport: EngineSession.Transport = .websocket) async throws -> (EngineSession, Recorder) {
        let (session, recorder) = session(transport)
        #expect(await session.receive("40{\"token\":\"good\"}") == nil)
        guard case .deliveries(let first) = await session.outbox.next(), first.count == 2,
            case .packet(let answer) = first[0], answer.hasPrefix("40{\"sid\":"), first[1] == .frame(#"{"type":"welcome"}"#, ack: nil)
        else {
            Issue.record("no CONNECT answer before the application's first frame")
            return (session, recorder)
        }
        return (session, recorder)
    }

    // MARK: Connecting

    @Test func aRefusedConnectIsAnsweredAndMayBeTriedAgain() async throws {
        let (session, recorder) = Self.session()
        #expect(await session.receive("40{\"token\":\"bad\"}") == nil)
        #expect(await session.outbox.next() == .deliveries([.packet(#"44{"message":"no entry"}"#)]))
        #expect(await session.receive("42[\"x\",{}]") != nil, "an EVENT was taken before a CONNECT succeeded")

        let (again, _) = Self.session()
        #expect(await again.receive("40") == nil)
        _ = await again.outbox.next()
        #expect(await again.receive("40{\"token\":\"good\"}") == nil)
        guard case .deliveries(let answer) = await again.outbox.next(), case .packet(let text)? = answer.first else {
            Issue.record("no answer to the second CONNECT")
            return
        }
        #expect(text.hasPrefix("40{\"sid\":"))
        #expect(recorder.entries.isEmpty)
    }

    @Test func otherNamespacesAreRefusedAndTheSessionGoesOn() async throws {
        let (session, _) = Self.session()
        #expect(await session.receive("40/custom,") == nil)
        #expect(await session.outbox.next() == .deliveries([.packet(#"44/custom,{"message":"Invalid namespace"}"#)]))
        #expect(session.outbox.closeReason == nil)
    }

    @Test func eventsReachTheSocketWithTheirAcknowledgements() async throws {
        let (session, recorder) = try await Self.connected()
        #expect(await session.receive("42[\"join\",{\"a\":1},2]") == nil)
        #expect(await session.receive("427[\"ping\"]") == nil)
        #expect(await session.outbox.next() == .deliveries([.frame(#"{"type":"done"}"#, ack: 7)]))
        #expect(recorder.entries == ["open member", "event join 2 [] -", "event ping 0 [] 7"])
    }

    @Test func aBinaryEventIsHandedOverWithItsAttachmentsOnceAllHaveCome() async throws {
        let (session, recorder) = try await Self.connected()
        #expect(await session.receive("452-9[\"upload\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]") == nil)
        #expect(await session.receive(attachment: Data([1, 2, 3])) == nil)
        #expect(recorder.entries == ["open member"], "handed over before its last attachment")
        #expect(await session.receive("bAQIDBAU=") == nil)  // the second, base64 over polling: 5 bytes
        #expect(recorder.entries.last == "event upload 2 [3, 5] 9")
        // A binary acknowledgement of the client's answers nothing the server asked: dropped.
        #expect(await session.receive("461-3[{\"_placeholder\":true,\"num\":0}]") == nil)
        #expect(await session.receive(attachment: Data([0])) == nil)
        #expect(recorder.entries.count == 2)
        #expect(session.outbox.closeReason == nil)
    }

    @Test func theClientLeavingTheNamespaceEndsItsSocketAndItMayConnectAgain() async throws {
        let (session, recorder) = try await Self.connected()
        #expect(await session.receive("41") == nil)
        #expect(recorder.entries == ["open member", "disconnect"])
        #expect(session.outbox.closeReason == nil, "the session outlives its socket")
        #expect(await session.receive("42[\"x\"]") != nil, "an EVENT after the socket left")

        let (other, _) = try await Self.connected()
        #expect(await other.receive("41") == nil)
        #expect(!other.tick(now: .now + .seconds(1)))
        #expect(other.tick(now: .now + EngineIO.connectTimeout + .seconds(1)), "no CONNECT after leaving: closed at the connect timeout")
        #expect(other.outbox.closeReason == .notAuthenticated)
    }

    @Test func aClosedSessionTellsItsSocketOnce() async throws {
        let (session, recorder) = try await Self.connected()
        session.close(.ended)
        await session.finish()
        await session.finish()
        #expect(recorder.entries == ["open member", "disconnect"])
        #expect(session.isClosed)
    }

    // MARK: Protocol errors

    @Test(arguments: [
        ("abc", "an Engine.IO packet of no type"),
        ("", "an empty packet"),
        ("5", "an upgrade packet over polling"),
        ("bnot base64!", "a binary packet that is not base64"),
        ("bAQID", "an attachment no packet awaits"),
        ("4abc", "a Socket.IO packet of no type"),
        ("42[\"ping\",{}]", "an EVENT before CONNECT"),
        ("41/other,", "a packet for a namespace not connected"),
        ("44{\"message\":\"x\"}", "a CONNECT_ERROR from the client"),
        ("451-[\"x\",{}]", "a binary packet before CONNECT"),
    ])
    func aPacketThatBreaksTheProtocolClosesTheSession(packet: String, what: String) async throws {
        let (session, _) = Self.session()
        #expect(await session.receive(Substring(packet)) != nil, "\(what) was accepted")
        #expect(session.outbox.closeReason == .protocolError, "\(what) did not close the session")
    }

    @Test(arguments: [
        ("40{}", "a second CONNECT"),
        ("42{}", "an EVENT whose payload is an object"),
        ("42[]", "an EVENT without a name"),
        ("42[1]", "an EVENT whose name is not a string"),
        ("47", "a Socket.IO packet type 7"),
        ("450-[\"x\"]", "a binary packet of no attachments"),
        ("4517-[\"x\"]", "a binary packet of too many attachments"),
        ("451-[\"x\",{\"_placeholder\":true,\"num\":3}]", "a placeholder of an attachment not announced"),
        ("451-{}", "a BINARY_EVENT whose payload is not an array"),
    ])
    func aConnectedSessionClosesOnAProtocolError(packet: String, what: String) async throws {
        let (session, _) = try await Self.connected()
        #expect(await session.receive(Substring(packet)) != nil, "\(what) was accepted")
        #expect(session.outbox.closeReason == .protocolError, "\(what) did not close the session")
    }

    @Test func textWhileAttachmentsAreAwaitedAndTooManyBytesBreakTheProtocol() async throws {
        let (waiting, _) = try await Self.connected()
        #expect(await waiting.receive("451-[\"x\",{\"_placeholder\":true,\"num\":0}]") == nil)
        #expect(await waiting.receive("42[\"ping\"]") != nil)
        #expect(waiting.outbox.closeReason == .protocolError)

        let (large, _) = try await Self.connected()
        #expect(await large.receive("452-[\"x\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]") == nil)
        #expect(await large.receive(attachment: Data(count: EngineIO.maxPayload)) == nil)
        #expect(await large.receive(attachment: Data(count: 1)) != nil, "attachments past maxPayload in all were taken")
        #expect(large.outbox.closeReason == .protocolError)
    }

    // MARK: Engine.IO packets and the heartbeat

    @Test func pingsNoopsAndCloseArePlainEngineIO() async throws {
        let (session, recorder) = try await Self.connected(.polling)
        #expect(await session.receive("6") == nil)
        #expect(await session.receive("2probe") == nil)
        #expect(await session.outbox.next() == .deliveries([.packet("3probe")]))
        #expect(await session.receive("1") == nil)
        #expect(session.outbox.closeReason == .ended)
        await session.finish()
        #expect(recorder.entries.last == "disconnect")
    }

    @Test func theHeartbeatPingsAndClosesOnAMissedPong() async throws {
        let (answering, _) = try await Self.connected()
        let pingAt = ContinuousClock.now + EngineIO.pingInterval + .seconds(1)
        #expect(!answering.tick(now: .now))
        #expect(!answering.tick(now: pingAt))
        #expect(await answering.outbox.next() == .deliveries([.packet("2")]))
        #expect(!answering.tick(now: pingAt + .seconds(1)), "a second ping while one is unanswered")
        #expect(await answering.receive("3") == nil)
        #expect(!answering.tick(now: pingAt + EngineIO.pingTimeout + .seconds(1)), "closed although it answered the ping")

        let (late, _) = try await Self.connected()
        #expect(!late.tick(now: pingAt))
        #expect(late.tick(now: pingAt + EngineIO.pingTimeout + .seconds(1)))
        #expect(late.outbox.closeReason == .pingTimeout)
        #expect(late.closed(before: pingAt + EngineIO.pingTimeout + .seconds(2)))
        #expect(!late.closed(before: pingAt))
    }

    @Test func aSessionWithoutConnectClosesAtTheConnectTimeout() {
        let (silent, _) = Self.session(.websocket)
        let start = ContinuousClock.now
        #expect(!silent.tick(now: start + .seconds(1)))
        #expect(silent.tick(now: start + EngineIO.connectTimeout + .seconds(1)))
        #expect(silent.outbox.closeReason == .notAuthenticated)
        #expect(silent.tick(now: start + .seconds(60)), "a closed session stays closed")
    }

    // MARK: Transports

    @Test func transportsChangeOnlyAsTheProtocolAllows() {
        let (session, _) = Self.session()
        #expect(session.beginPoll() == .admitted)
        #expect(session.beginPoll() == .overlapping)
        session.endPoll()
        #expect(session.beginPost() == .admitted)
        #expect(session.beginPost() == .overlapping)
        session.endPost()
        #expect(session.beginUpgrade())
        #expect(session.transport == .upgrading)
        #expect(session.beginPoll() == .admitted, "polling goes on while the WebSocket probes")
        session.endPoll()
        #expect(!session.beginUpgrade(), "two upgrades at once")
        session.abandonUpgrade()
        #expect(session.transport == .polling)
        #expect(session.beginUpgrade())
        session.completeUpgrade()
        #expect(session.transport == .websocket)
        #expect(session.beginPoll() == .upgraded)
        #expect(session.beginPost() == .upgraded)
        session.abandonUpgrade()
        #expect(session.transport == .websocket, "an upgraded session does not go back")

        let (closed, _) = Self.session()
        closed.close(.ended)
        #expect(!closed.beginUpgrade(), "a closed session was upgraded")
        let (direct, _) = Self.session(.websocket)
        #expect(!direct.beginUpgrade(), "a WebSocket session was upgraded")
    }
}
