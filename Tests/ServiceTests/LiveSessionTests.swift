import Foundation
import GuildAuth
import GuildClients
import GuildConcurrency
import GuildCore
import GuildLive
import GuildRedis
import GuildServiceKit
import JWTKit
import Logging
import Testing

@testable import NotifyService

/// notify's live session without a server, over the live transport (GuildLive, tested on its
/// own in LiveTests): a connection's rooms, the token handed over in-band, and the end of the
/// sockets a revocation or an expiry concerns.
@Suite("The live session: rooms, in-band tokens, revocations and expiry")
struct LiveSessionTests {
    @Test func aRoomsFramesWaitForItsHistoryAndEachMessageComesOnce() async {
        let outbox = ConnectionOutbox()
        let feed = LiveFeed(outbox: outbox)
        let ticket = UUID()
        let (one, two) = (UUID(), UUID())
        feed.push(.room(ticket: ticket, messageId: one, frame: "before the room"))
        feed.push(.joining(ticket))
        feed.push(.room(ticket: ticket, messageId: one, frame: "held: in the history"))
        feed.push(.room(ticket: ticket, messageId: two, frame: "held: new"))
        feed.push(.joined(ticket, history: "history", messageIds: [one], ack: nil))
        feed.push(.room(ticket: ticket, messageId: two, frame: "again"))
        feed.push(.left(ticket))
        feed.push(.room(ticket: ticket, messageId: UUID(), frame: "after leaving"))
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
            let session = EngineSession(sid: "t.\(UUID())", transport: .websocket, namespace: LiveNamespace(hub: hub))
            #expect(await session.receive(Substring("40{\"token\":\"\(try await token(user: user))\"}")) == nil)
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

    @Test func aTokenMissingOrNotValidIsRefusedAtConnect() async throws {
        let signed = try await Signed()
        let session = EngineSession(sid: "t.1", transport: .polling, namespace: LiveNamespace(hub: signed.hub))
        #expect(await session.receive("40") == nil)
        #expect(await session.outbox.next() == .deliveries([.packet(#"44{"message":"a valid access token is required in the auth payload {\"token\": \"...\"}"}"#)]))
        #expect(await session.receive("40{\"token\":\"forged\"}") == nil)
        #expect(await session.outbox.next() == .deliveries([.packet(#"44{"message":"the access token is not valid"}"#)]))
        #expect(signed.hub.live.count == 0)
    }

    @Test func refusalsOfTheApplicationKeepTheSession() async throws {
        let signed = try await Signed()
        let session = try await signed.connected()
        #expect(await session.receive("427[\"nonsense\",{}]") == nil)
        #expect(await session.receive("428[\"join_ticket\",\"not an object\"]") == nil)
        // A binary event is read whole (header, then its attachments) and refused through its ack.
        #expect(await session.receive("452-9[\"ping\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]") == nil)
        #expect(await session.receive(attachment: Data([1, 2, 3])) == nil)
        #expect(await session.receive(attachment: Data([4, 5])) == nil)
        #expect(await session.receive("43") == nil)  // an ACK answers nothing
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
        #expect(await session.receive(Substring("421[\"authenticate\",{\"token\":\"\(fresh)\"}]")) == nil)
        guard case .deliveries(let answer) = await session.outbox.next(), case .frame(let frame, 1)? = answer.first else {
            Issue.record("no acknowledgement of authenticate")
            return
        }
        #expect(frame.contains("\"type\":\"authenticated\"") && frame.contains("expires_at"))
        let stranger = try await signed.token()
        #expect(await session.receive(Substring("42[\"authenticate\",{\"token\":\"\(stranger)\"}]")) == nil)
        #expect(await session.outbox.next() == .deliveries([.last(#"{"type":"session_ended","reason":"invalid_token"}"#)]))
        #expect(EngineIO.packets(for: .last(#"{"type":"session_ended","reason":"invalid_token"}"#)).last == "41")
        #expect(session.outbox.closeReason == .sessionEnded)
    }

    @Test func aRevocationEndsTheSocketsItConcernsAndNoOthers() async throws {
        let signed = try await Signed()
        let live = signed.hub.live
        let user = UUID().uuidString.lowercased()
        let (mine, other) = (ConnectionOutbox(), ConnectionOutbox())
        let identity = Identity(userId: user, role: .user, sessionId: "s1", tokenId: "t", expiresAt: Date().addingTimeInterval(60))
        _ = live.open(identity, feed: LiveFeed(outbox: mine))
        _ = live.open(Identity(userId: user, role: .user, sessionId: "s2", tokenId: "t", expiresAt: Date().addingTimeInterval(60)), feed: LiveFeed(outbox: other))
        live.end(.session("s1", reason: .loggedOut))
        #expect(mine.closeReason == .sessionEnded)
        #expect(other.closeReason == nil)
        live.end(.user(user, reason: .disabled))
        #expect(other.closeReason == .sessionEnded)
        #expect(await other.next() == .deliveries([.last(#"{"type":"session_ended","reason":"disabled"}"#)]))
        #expect(live.count == 0)

        let expiring = ConnectionOutbox()
        _ = live.open(Identity(userId: user, role: .user, sessionId: "s3", tokenId: "t", expiresAt: Date().addingTimeInterval(5)), feed: LiveFeed(outbox: expiring))
        live.endExpired(now: Date().addingTimeInterval(1))
        #expect(expiring.closeReason == nil)
        live.endExpired(now: Date().addingTimeInterval(6))
        #expect(await expiring.next() == .deliveries([.last(#"{"type":"session_ended","reason":"token_expired"}"#)]))
    }
}
