import Foundation
import GuildAuth
import GuildCore
import GuildRedis
import GuildServiceKit
import JWTKit
import Logging
import Testing

@testable import NotifyService

/// notify's live transport without a server: the Socket.IO packet codec, the bounded outbox and
/// the Engine.IO session's states and transitions.
@Suite("The live transport: Socket.IO packets, the outbox, the Engine.IO session")
struct LiveTransportTests {
    // MARK: Socket.IO packets

    @Test(arguments: [
        ("0", SocketIOPacket.Kind.connect, "/", nil as Int?),
        ("0/admin,", .connect, "/admin", nil),
        ("1", .disconnect, "/", nil),
        ("2[\"ping\",{}]", .event, "/", nil),
        ("212[\"ping\"]", .event, "/", 12),
        ("2/admin,7[\"x\"]", .event, "/admin", 7),
        ("37[]", .ack, "/", 7),
        ("4{\"message\":\"no\"}", .connectError, "/", nil),
        ("51-[\"x\",{\"_placeholder\":true,\"num\":0}]", .binaryEvent, "/", nil),
        ("52-/admin,9[\"x\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]", .binaryEvent, "/admin", 9),
        ("61-3[{\"_placeholder\":true,\"num\":0}]", .binaryAck, "/", 3),
    ])
    func everyPacketTypeIsRead(text: String, kind: SocketIOPacket.Kind, namespace: String, id: Int?) throws {
        let packet = try #require(SocketIOPacket(parsing: Substring(text)), "\(text) was not read")
        #expect(packet.kind == kind)
        #expect(packet.namespace == namespace)
        #expect(packet.id == id)
        if kind == .binaryEvent || kind == .binaryAck {
            #expect(packet.attachments == Int(text.dropFirst().prefix { $0.isNumber }))
        }
    }

    @Test(arguments: ["", "7", "a", "abc", "2{", "2abc[\"x\"]", "2[\"x\"", "5[\"x\"]", "5-[\"x\"]", "5x-[\"x\"]", "21234567890123456[\"x\"]"])
    func whatIsNoPacketIsRefused(text: String) {
        #expect(SocketIOPacket(parsing: Substring(text)) == nil, "\(text) was read as a packet")
    }

    @Test func serverPacketsAreWrittenAsTheSpecificationSays() {
        #expect(SocketIOPacket.event(fromFrame: #"{"type":"pong"}"#) == #"2["pong",{}]"#)
        #expect(SocketIOPacket.event(fromFrame: "[1]") == nil)
        #expect(SocketIOPacket.ack(4, frame: nil) == "34[]")
        #expect(SocketIOPacket.ack(4, frame: #"{"a":1}"#) == #"34[{"a":1}]"#)
        #expect(SocketIOPacket.connectError("no", namespace: "/x") == #"4/x,{"message":"no"}"#)
        #expect(EngineIO.packets(for: .sessionEnded(.loggedOut)) == [#"42["session_ended",{"reason":"logged_out"}]"#, "41"])
        #expect(EngineIO.packets(for: .acknowledgement(3)) == ["433[]"])
        #expect(EngineIO.packets(for: .packet("2")) == ["2"])
    }

    // MARK: The outbox

    @Test func theOutboxHandsOutInOrderThenItsCloseReason() async {
        let outbox = ConnectionOutbox()
        outbox.push(.frame("a"))
        outbox.push(.frame("b"))
        #expect(await outbox.next() == .deliveries([.frame("a", ack: nil), .frame("b", ack: nil)]))
        outbox.push(.frame("c"))
        outbox.close(.ended)
        outbox.push(.frame("after"))
        #expect(!outbox.isDrained)
        #expect(await outbox.next() == .deliveries([.frame("c", ack: nil)]))
        #expect(outbox.isDrained)
        #expect(await outbox.next() == .closed(.ended))
        #expect(await outbox.closed() == .ended)
    }

    @Test func anOutboxPastItsBoundDropsEverythingAndClosesForOverflow() async {
        let outbox = ConnectionOutbox(limits: .init(deliveries: 3, bytes: 1 << 20))
        for index in 0..<4 { outbox.push(.frame("\(index)")) }
        #expect(outbox.closeReason == .overflow)
        #expect(await outbox.next() == .closed(.overflow))

        let bytes = ConnectionOutbox(limits: .init(deliveries: 100, bytes: 10))
        bytes.push(.frame(String(repeating: "x", count: 50)))  // alone in an empty outbox: accepted
        #expect(bytes.closeReason == nil)
        bytes.push(.frame("y"))
        #expect(bytes.closeReason == .overflow)
    }

    @Test func theEndOfASessionIsTheLastDeliveryEvenPastTheBound() async {
        let outbox = ConnectionOutbox(limits: .init(deliveries: 2, bytes: 1 << 20))
        outbox.push(.frame("a"))
        outbox.push(.frame("b"))
        outbox.end(.revoked)
        outbox.end(.tokenExpired)  // the first end wins
        #expect(outbox.closeReason == .sessionEnded)
        #expect(await outbox.next() == .deliveries([.frame("a", ack: nil), .frame("b", ack: nil), .sessionEnded(.revoked)]))
        #expect(await outbox.next() == .closed(.sessionEnded))
    }

    @Test func aWaitingReaderGetsTheEndAtOnce() async {
        let outbox = ConnectionOutbox()
        async let next = outbox.next()
        while !outbox.hasReader { await Task.yield() }
        outbox.end(.loggedOut)
        #expect(await next == .deliveries([.sessionEnded(.loggedOut)]))
    }

    @Test func aNewerReaderTakesOverAndACancelledOneGetsNothing() async {
        let outbox = ConnectionOutbox()
        let first = Task { await outbox.next() }
        while !outbox.hasReader { await Task.yield() }
        let second = Task { await outbox.next() }
        #expect(await first.value == .deliveries([]))
        second.cancel()
        #expect(await second.value == .deliveries([]))
        let third = Task { await outbox.next() }
        while !outbox.hasReader { await Task.yield() }
        outbox.releaseReader()
        #expect(await third.value == .deliveries([]))
    }

    @Test func aRoomsFramesWaitForItsHistoryAndEachMessageComesOnce() async {
        let outbox = ConnectionOutbox()
        let ticket = UUID()
        let (one, two) = (UUID(), UUID())
        outbox.push(.room(ticket: ticket, messageId: one, frame: "before the room"))
        outbox.push(.joining(ticket))
        outbox.push(.room(ticket: ticket, messageId: one, frame: "held: in the history"))
        outbox.push(.room(ticket: ticket, messageId: two, frame: "held: new"))
        outbox.push(.joined(ticket, history: "history", messageIds: [one], ack: nil))
        outbox.push(.room(ticket: ticket, messageId: two, frame: "again"))
        outbox.push(.left(ticket))
        outbox.push(.room(ticket: ticket, messageId: UUID(), frame: "after leaving"))
        #expect(await outbox.next() == .deliveries([.frame("history", ack: nil), .frame("held: new", ack: nil)]))
    }

    // MARK: The Engine.IO session

    /// A hub whose verifier knows one key, and tokens signed with it.
    private struct Signed {
        let hub: LiveHub
        let keys: JWTKeyCollection
        let kid: String

        init() async throws {
            let key = try SigningKey.generate()
            let verifier = TokenVerifier(policy: TokenPolicy())
            await verifier.add(publicKey: key.privateKey.publicKey, kid: key.kid)
            keys = JWTKeyCollection()
            await keys.add(eddsa: key.privateKey, kid: JWKIdentifier(string: key.kid))
            kid = key.kid
            let live = LiveConnections()
            let redis = RedisClient(configuration: try RedisConfiguration(url: "redis://127.0.0.1:1"), threads: 1, logger: Logger(label: "test"))
            let loaded = ReadySignal()
            loaded.open()
            hub = LiveHub(
                verifier: verifier, revocationsLoaded: loaded, live: live, rooms: TicketRooms(live: live, redis: redis),
                tickets: TicketsRoomClient(tickets: InternalClient(service: "tickets", baseURL: "http://127.0.0.1:1", secret: "s"))
            )
        }

        /// An access token of `user`, valid for an hour.
        func token(user: String = UUID().uuidString.lowercased()) async throws -> String {
            let claims = AccessTokenClaims(
                sub: user, role: .user, sid: UUID().uuidString.lowercased(), issuer: "guildhall-auth", audience: "guildhall",
                issuedAt: Date(), expiresAt: Date().addingTimeInterval(3600), jti: UUID().uuidString.lowercased()
            )
            return try await keys.sign(claims, kid: JWKIdentifier(string: kid))
        }

        /// A session connected to the default namespace with a token of `user`, its CONNECT
        /// answer and `connection_established` taken.
        func connected(user: String = UUID().uuidString.lowercased()) async throws -> EngineSession {
            let session = EngineSession(sid: "t.\(UUID())", transport: .websocket)
            #expect(await session.receive(Substring("40{\"token\":\"\(try await token(user: user))\"}"), hub: hub) == nil)
            guard case .deliveries(let first) = await session.outbox.next(), first.count == 2,
                case .packet(let connected) = first[0], connected.hasPrefix("40{\"sid\":")
            else {
                throw Failure(message: "no CONNECT answer")
            }
            return session
        }
    }

    struct Failure: Error {
        let message: String
    }

    private static func hub() async throws -> LiveHub { try await Signed().hub }

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
        let session = EngineSession(sid: "t.1", transport: .polling)
        #expect(await session.receive(Substring(packet), hub: try await Self.hub()) != nil, "\(what) was accepted")
        #expect(session.outbox.closeReason == .protocolError, "\(what) did not close the session")
    }

    @Test func pingsNoopsAndCloseArePlainEngineIO() async throws {
        let hub = try await Self.hub()
        let session = EngineSession(sid: "t.1", transport: .polling)
        #expect(await session.receive("6", hub: hub) == nil)
        #expect(await session.receive("2probe", hub: hub) == nil)
        #expect(await session.outbox.next() == .deliveries([.packet("3probe")]))
        #expect(await session.receive("40/custom,", hub: hub) == nil)  // answered, not a violation
        #expect(await session.outbox.next() == .deliveries([.packet(#"44/custom,{"message":"Invalid namespace"}"#)]))
        #expect(await session.receive("40{\"token\":\"forged\"}", hub: hub) == nil)
        guard case .deliveries(let refused) = await session.outbox.next(), case .packet(let text)? = refused.first else {
            Issue.record("no CONNECT_ERROR for a bad token")
            return
        }
        #expect(text.hasPrefix("44{\"message\":"))
        #expect(await session.receive("1", hub: hub) == nil)
        #expect(session.outbox.closeReason == .ended)
    }

    @Test func theHeartbeatPingsClosesOnAMissedPongAndOnNoConnect() async throws {
        let start = ContinuousClock.now
        let silent = EngineSession(sid: "t.1", transport: .websocket)
        #expect(!silent.tick(now: start + .seconds(1)))
        // No CONNECT within the connect timeout.
        #expect(silent.tick(now: start + EngineIO.connectTimeout + .seconds(1)))
        #expect(silent.outbox.closeReason == .notAuthenticated)
        #expect(silent.closed(before: start + .seconds(60)))

        let signed = try await Signed()
        let answering = try await signed.connected()
        let pingAt = ContinuousClock.now + EngineIO.pingInterval + .seconds(1)
        #expect(!answering.tick(now: pingAt))
        #expect(await answering.outbox.next() == .deliveries([.packet("2")]))
        #expect(await answering.receive("3", hub: signed.hub) == nil)
        #expect(!answering.tick(now: pingAt + EngineIO.pingTimeout + .seconds(1)), "closed although it answered the ping")

        let late = try await signed.connected()
        #expect(!late.tick(now: pingAt))
        #expect(late.tick(now: pingAt + EngineIO.pingTimeout + .seconds(1)))
        #expect(late.outbox.closeReason == .pingTimeout)
    }

    @Test(arguments: [
        ("40{}", "a second CONNECT"),
        ("42{}", "an EVENT whose payload is an object"),
        ("42[]", "an EVENT without a name"),
        ("42[1]", "an EVENT whose name is not a string"),
        ("47", "a Socket.IO packet type 7"),
        ("42[\"ping\"]\u{1e}", "a text packet while an attachment is awaited"),
    ])
    func aConnectedSessionClosesOnAProtocolError(packet: String, what: String) async throws {
        let signed = try await Signed()
        let session = try await signed.connected()
        if what.contains("attachment") {
            #expect(await session.receive("451-[\"ping\",{\"_placeholder\":true,\"num\":0}]", hub: signed.hub) == nil)
        }
        #expect(await session.receive(Substring(packet.replacingOccurrences(of: "\u{1e}", with: "")), hub: signed.hub) != nil, "\(what) was accepted")
        #expect(session.outbox.closeReason == .protocolError, "\(what) did not close the session")
    }

    @Test func refusalsOfTheApplicationKeepTheSession() async throws {
        let signed = try await Signed()
        let session = try await signed.connected()
        #expect(await session.receive("427[\"nonsense\",{}]", hub: signed.hub) == nil)
        #expect(await session.receive("428[\"join_ticket\",\"not an object\"]", hub: signed.hub) == nil)
        // A binary event is read whole (header, then its attachments) and refused through its ack.
        #expect(await session.receive("452-9[\"ping\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]", hub: signed.hub) == nil)
        #expect(session.receive(attachment: 3) == nil)
        #expect(session.receive(attachment: 5) == nil)
        #expect(await session.receive("43", hub: signed.hub) == nil)  // an ACK answers nothing
        #expect(session.outbox.closeReason == nil)
        guard case .deliveries(let answers) = await session.outbox.next() else { return }
        let acks = answers.compactMap { delivery -> Int? in if case .frame(_, let ack?) = delivery { ack } else { nil } }
        #expect(acks == [7, 8, 9], "\(answers)")
    }

    @Test func aFreshTokenOfTheSameUserIsTakenAnyOtherEndsTheSocket() async throws {
        let signed = try await Signed()
        let user = UUID().uuidString.lowercased()
        let session = try await signed.connected(user: user)
        let fresh = try await signed.token(user: user)
        #expect(await session.receive(Substring("421[\"authenticate\",{\"token\":\"\(fresh)\"}]"), hub: signed.hub) == nil)
        guard case .deliveries(let answer) = await session.outbox.next(), case .frame(let frame, 1)? = answer.first else {
            Issue.record("no acknowledgement of authenticate")
            return
        }
        #expect(frame.contains("\"type\":\"authenticated\"") && frame.contains("expires_at"))
        let stranger = try await signed.token()
        #expect(await session.receive(Substring("42[\"authenticate\",{\"token\":\"\(stranger)\"}]"), hub: signed.hub) == nil)
        #expect(await session.outbox.next() == .deliveries([.sessionEnded(.invalidToken)]))
        #expect(session.outbox.closeReason == .sessionEnded)
    }

    @Test func aRevocationEndsTheSocketsItConcernsAndNoOthers() async throws {
        let signed = try await Signed()
        let live = signed.hub.live
        let user = UUID().uuidString.lowercased()
        let (mine, other) = (ConnectionOutbox(), ConnectionOutbox())
        let identity = Identity(userId: user, role: .user, sessionId: "s1", tokenId: "t", expiresAt: Date().addingTimeInterval(60))
        _ = live.open(identity, outbox: mine)
        _ = live.open(Identity(userId: user, role: .user, sessionId: "s2", tokenId: "t", expiresAt: Date().addingTimeInterval(60)), outbox: other)
        live.end(.session("s1", reason: .loggedOut))
        #expect(mine.closeReason == .sessionEnded)
        #expect(other.closeReason == nil)
        live.end(.user(user, reason: .disabled))
        #expect(other.closeReason == .sessionEnded)
        #expect(await other.next() == .deliveries([.sessionEnded(.disabled)]))
        #expect(live.count == 0)

        let expiring = ConnectionOutbox()
        _ = live.open(Identity(userId: user, role: .user, sessionId: "s3", tokenId: "t", expiresAt: Date().addingTimeInterval(5)), outbox: expiring)
        live.endExpired(now: Date().addingTimeInterval(1))
        #expect(expiring.closeReason == nil)
        live.endExpired(now: Date().addingTimeInterval(6))
        #expect(await expiring.next() == .deliveries([.sessionEnded(.tokenExpired)]))
    }

    @Test func transportsChangeOnlyAsTheProtocolAllows() {
        let session = EngineSession(sid: "t.1", transport: .polling)
        #expect(session.beginPoll() == .admitted)
        #expect(session.beginPoll() == .overlapping)
        session.endPoll()
        #expect(session.beginPost() == .admitted)
        session.endPost()
        #expect(session.beginUpgrade())
        #expect(session.transport == .upgrading)
        #expect(!session.beginUpgrade(), "two upgrades at once")
        session.abandonUpgrade()
        #expect(session.transport == .polling)
        #expect(session.beginUpgrade())
        session.completeUpgrade()
        #expect(session.transport == .websocket)
        #expect(session.beginPoll() == .upgraded)
        #expect(session.beginPost() == .upgraded)

        let closed = EngineSession(sid: "t.2", transport: .polling)
        closed.close(.ended)
        #expect(!closed.beginUpgrade(), "a closed session was upgraded")
    }
}
