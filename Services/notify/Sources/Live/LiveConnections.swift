import Foundation
import GuildAuth
import GuildCore
import GuildLive
import GuildRedis
import Logging
import ServiceLifecycle
import Synchronization

/// The live connections open on this replica, by user and by session, whatever their transport
/// (`/ws`, or socket.io over polling or WebSocket).
///
/// Frames for a user are published on one Redis channel; every replica's subscriber hands them
/// to ``deliver(_:)``, so a user's events reach all of their connections, on any replica. Each
/// connection's ``LiveFeed`` takes them without waiting, in order, and bounded.
///
/// A connection lives as long as what it stands on: the session of its access token (ended by
/// a revocation, ``end(_:)``) and the token itself (ended at its `exp`, unless the client handed
/// over a fresh one, ``reauthenticate(_:as:)``). As a `Service` it ends expired connections.
final class LiveConnections: Service, Sendable {
    /// The pub/sub channel that carries frames for users.
    static let channel = "guildhall:notify:live"
    /// How often connections are checked for an expired token: `session_ended` follows `exp`
    /// within this.
    static let expiryTick: Duration = .milliseconds(250)

    private struct Connection {
        var identity: Identity
        let feed: LiveFeed
    }

    private struct State {
        var byUser: [String: [UUID: Connection]] = [:]
        var bySession: [String: Set<UUID>] = [:]
        var userOf: [UUID: String] = [:]

        mutating func insert(_ connection: Connection, id: UUID) {
            byUser[connection.identity.userId, default: [:]][id] = connection
            bySession[connection.identity.sessionId, default: []].insert(id)
            userOf[id] = connection.identity.userId
        }

        mutating func remove(_ id: UUID) -> Connection? {
            guard let userId = userOf.removeValue(forKey: id), let connection = byUser[userId]?.removeValue(forKey: id) else { return nil }
            if byUser[userId]?.isEmpty == true { byUser[userId] = nil }
            let session = connection.identity.sessionId
            bySession[session]?.remove(id)
            if bySession[session]?.isEmpty == true { bySession[session] = nil }
            return connection
        }
    }

    private let state = Mutex(State())

    /// Registers `feed` as a connection of `identity`; what is for the connection is queued there.
    func open(_ identity: Identity, feed: LiveFeed) -> UUID {
        let id = UUID()
        state.withLock { $0.insert(Connection(identity: identity, feed: feed), id: id) }
        return id
    }

    /// The connection `id` goes on with a fresh token of its user (`authenticate`): it now lives
    /// as long as that token and its session. False when the connection is no longer open here.
    func reauthenticate(_ id: UUID, as identity: Identity) -> Bool {
        state.withLock { state in
            guard var connection = state.remove(id) else { return false }
            connection.identity = identity
            state.insert(connection, id: id)
            return true
        }
    }

    /// Queues `outgoing` on one connection of `userId` (if it is still open here).
    func send(_ outgoing: Outgoing, to id: UUID, of userId: String) {
        let feed = state.withLock { $0.byUser[userId]?[id]?.feed }
        feed?.push(outgoing)
    }

    /// Removes a connection (its outbox is its transport's to close).
    func close(id: UUID) {
        _ = state.withLock { $0.remove(id) }
    }

    /// How many connections are open here.
    var count: Int { state.withLock { $0.userOf.count } }

    /// The user id that addresses every connection (a broadcast).
    static let everyone = "*"

    /// Hands a message from the channel to the user's local connections (or all of them).
    func deliver(_ message: RedisMessage) {
        guard let envelope = try? GuildJSON.decoder.decode(LiveFrame.self, from: Data(message.payload.utf8)) else { return }
        let targets = state.withLock { state in
            envelope.userId == Self.everyone
                ? state.byUser.values.flatMap { $0.values.map(\.feed) }
                : (state.byUser[envelope.userId] ?? [:]).values.map(\.feed)
        }
        for feed in targets { feed.push(.frame(envelope.frame)) }
    }

    // MARK: Ending connections

    /// Ends every connection a revocation concerns (a session's, or all of a user's): each is sent
    /// `session_ended` with the revocation's reason and closed by its transport.
    func end(_ revocation: RevocationList.Entry) {
        let ended = state.withLock { state -> [(LiveFeed, SessionEndReason)] in
            let ids: [UUID]
            let reason: SessionEndReason
            switch revocation {
            case .session(let session, let why):
                ids = Array(state.bySession[session] ?? [])
                reason = why
            case .user(let user, let why):
                ids = Array((state.byUser[user] ?? [:]).keys)
                reason = why
            case .userEnabled:
                return []
            }
            return ids.compactMap { state.remove($0).map { ($0.feed, reason) } }
        }
        for (feed, reason) in ended { feed.end(reason) }
    }

    /// Ends the connection `id` for `reason` (a token handed over that is not valid).
    func end(_ id: UUID, reason: SessionEndReason) {
        state.withLock { $0.remove(id) }?.feed.end(reason)
    }

    /// Ends every connection whose token `isRevoked` says is revoked (after revocations were
    /// reloaded: those published while this replica was not listening).
    func endRevoked(_ isRevoked: (Identity) -> Bool) {
        endAll(for: .revoked, where: isRevoked)
    }

    /// Ends every connection whose token has expired at `now`.
    func endExpired(now: Date = Date()) {
        endAll(for: .tokenExpired) { $0.expiresAt <= now }
    }

    /// Ends, for `reason`, every connection whose identity `matches`.
    private func endAll(for reason: SessionEndReason, where matches: (Identity) -> Bool) {
        let ended = state.withLock { state -> [LiveFeed] in
            let ids = state.byUser.values.flatMap { $0.filter { matches($0.value.identity) }.keys }
            return ids.compactMap { state.remove($0)?.feed }
        }
        for feed in ended { feed.end(reason) }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: Self.expiryTick)
                self.endExpired()
            }
        }
    }

    // MARK: Publishing

    /// Publishes `frame` to every connection of every user, on every replica.
    static func publishToEveryone(frame: String, redis: RedisClient) async throws {
        try await publish(frame: frame, to: everyone, redis: redis)
    }

    /// Publishes `frame` (a JSON object as text) to every connection of `userId`, on every replica.
    static func publish(frame: String, to userId: String, redis: RedisClient) async throws {
        try await redis.publish(try GuildJSON.string(LiveFrame(userId: userId, frame: frame)), to: channel)
    }
}

/// What travels on the live channel.
struct LiveFrame: Codable {
    var userId: String
    var frame: String
}
