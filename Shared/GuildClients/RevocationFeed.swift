import GuildConcurrency
import Foundation
import GuildAuth
import GuildCore
import GuildRedis
import Logging
import ServiceLifecycle

/// What auth says must be refused: sessions revoked lately and disabled users
/// (`GET /internal/revocations`).
public struct RevocationSnapshot: Codable, Sendable, Equatable {
    /// A revoked session.
    public struct Session: Codable, Sendable, Equatable {
        /// The session id.
        public var id: String
        /// When it was revoked.
        public var revokedAt: Date

        /// Creates an entry.
        public init(id: String, revokedAt: Date) {
            self.id = id
            self.revokedAt = revokedAt
        }
    }

    /// Sessions revoked within the window an access token of theirs can still be unexpired.
    public var sessions: [Session]
    /// Every disabled user.
    public var disabledUsers: [String]

    /// Creates a snapshot.
    public init(sessions: [Session], disabledUsers: [String]) {
        self.sessions = sessions
        self.disabledUsers = disabledUsers
    }
}

/// Keeps a replica's ``RevocationList`` current outside auth: every revocation published on
/// ``RevocationList/channel`` is added as it comes, and the whole list is loaded from auth when
/// the replica starts and again after every reconnect to Redis (what was published meanwhile).
///
/// `loaded` opens after the first load; until then the replica cannot know what to refuse.
/// `onRevocation` is told of each revocation as it arrives, `onReload` after each load (a
/// gateway ends the connections they concern).
public struct RevocationFeed: Service {
    private let list: RevocationList
    private let redis: RedisConfiguration
    private let auth: InternalClient
    private let loaded: ReadySignal
    private let logger: Logger
    private let onRevocation: @Sendable (RevocationList.Entry) async -> Void
    private let onReload: @Sendable () async -> Void

    /// Creates the feed; it asks auth at `authInternalURL` (its private listeners).
    public init(
        list: RevocationList,
        redis: RedisConfiguration,
        authInternalURL: String,
        secret: String,
        loaded: ReadySignal,
        logger: Logger,
        onRevocation: @escaping @Sendable (RevocationList.Entry) async -> Void = { _ in },
        onReload: @escaping @Sendable () async -> Void = {}
    ) {
        self.list = list
        self.redis = redis
        self.auth = InternalClient(service: "auth", baseURL: authInternalURL, secret: secret)
        self.loaded = loaded
        self.logger = logger
        self.onRevocation = onRevocation
        self.onReload = onReload
    }

    public func run() async throws {
        // One pending reload at most: a reconnect while one runs asks for one more.
        let (reloads, requestReload) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        requestReload.yield()
        let subscriber = RedisSubscriber(
            configuration: redis, channels: [RevocationList.channel], logger: logger,
            onSubscribed: { requestReload.yield() },
            onMessage: { [list, onRevocation] message in
                guard let entry = RevocationList.Entry(message.payload) else { return }
                list.add(entry)
                await onRevocation(entry)
            }
        )
        await withDiscardingTaskGroup { group in
            group.addTask {
                try? await subscriber.run()
                requestReload.finish()
            }
            group.addTask {
                await cancelWhenGracefulShutdown {
                    for await _ in reloads { await reloadUntilDone() }
                }
            }
        }
    }

    /// Loads the list from auth, retrying with backoff until it answers (or the feed stops).
    private func reloadUntilDone() async {
        let snapshot = try? await retryUntilSuccess(backoff: Backoff(initial: .milliseconds(100)), failed: { error, wait in
            logger.warning("could not load revocations from auth; retrying", metadata: ["error": "\(error)", "retry_in": "\(wait)"])
        }) {
            let (status, snapshot) = try await auth.get("/internal/revocations", as: RevocationSnapshot.self)
            guard let snapshot else { throw APIError.unavailable("auth (HTTP \(status))") }
            return snapshot
        }
        guard let snapshot else { return }
        list.merge(sessions: snapshot.sessions.map { ($0.id, $0.revokedAt) }, disabledUsers: Set(snapshot.disabledUsers))
        loaded.open()
        await onReload()
    }
}
