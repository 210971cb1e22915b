import Foundation
import GuildCore
import Logging
import PostgresNIO

/// An `Idempotency-Key` sent with a write: a retry with the same key returns the first answer
/// and changes nothing. Keys belong to the caller and are kept for 7 days.
public struct IdempotencyKey: Sendable, Equatable {
    /// Who sent it (keys of different callers never meet).
    public var owner: UUID
    /// The header's value.
    public var key: String
    /// What the request asked for; the same key with another request is refused.
    public var fingerprint: String

    /// Creates a key.
    public init(owner: UUID, key: String, fingerprint: String) {
        self.owner = owner
        self.key = key
        self.fingerprint = fingerprint
    }

    /// How long a key is remembered.
    public static let retention: TimeInterval = 7 * 24 * 3600
}

/// A JSON answer as it was first given, ready to be given again.
public struct StoredReply: Sendable, Equatable {
    /// The HTTP status.
    public var status: Int
    /// The body.
    public var json: String
    /// True when this is a replay of an earlier request with the same key.
    public var replayed: Bool
}

extension Database {
    /// Runs `work` in a transaction once per idempotency key and returns its answer as JSON,
    /// kept in the service's own `idempotency_keys` table (``IdempotencyTables``).
    ///
    /// The key is claimed inside the same transaction as the change, so a concurrent retry
    /// waits on the key's row and then replays the committed answer; when `work` throws,
    /// nothing is kept and a retry runs afresh.
    ///
    /// When `work` is one statement (`oneStatement`: atomic on its own) and there is no key, it
    /// runs outside a transaction: one round trip instead of three.
    public func idempotent<Body: Encodable & Sendable>(
        _ key: IdempotencyKey?,
        status: Int = 200,
        oneStatement: Bool = false,
        logger: Logger,
        _ work: @escaping @Sendable (PostgresConnection) async throws -> Body
    ) async throws -> StoredReply {
        if key == nil, oneStatement {
            return try await connection(logger: logger) { connection in
                StoredReply(status: status, json: try GuildJSON.string(try await work(connection)), replayed: false)
            }
        }
        return try await transaction(logger: logger) { connection in
            if let key, let earlier = try await Self.claim(key, on: connection, logger: logger) { return earlier }
            let body = try await work(connection)
            let reply = StoredReply(status: status, json: try GuildJSON.string(body), replayed: false)
            if let key {
                try await connection.query(
                    "UPDATE idempotency_keys SET status = \(reply.status), response = \(reply.json) WHERE owner_id = \(key.owner) AND key = \(key.key)",
                    logger: logger
                )
            }
            return reply
        }
    }

    /// Claims `key`; returns the stored answer when it was used before (waiting for a concurrent
    /// holder to finish), or nil when this request is the first.
    private static func claim(_ key: IdempotencyKey, on connection: PostgresConnection, logger: Logger) async throws -> StoredReply? {
        let claimed = try await connection.query(
            """
            INSERT INTO idempotency_keys (owner_id, key, fingerprint) VALUES (\(key.owner), \(key.key), \(key.fingerprint))
            ON CONFLICT (owner_id, key) DO UPDATE
                SET fingerprint = EXCLUDED.fingerprint, status = NULL, response = NULL, created_at = now()
                WHERE idempotency_keys.created_at < now() - make_interval(secs => \(IdempotencyKey.retention))
            RETURNING 1
            """,
            logger: logger
        )
        for try await _ in claimed { return nil }
        let rows = try await connection.query(
            "SELECT fingerprint, status, response FROM idempotency_keys WHERE owner_id = \(key.owner) AND key = \(key.key)",
            logger: logger
        )
        for try await (fingerprint, status, response) in rows.decode((String, Int?, String?).self) {
            guard fingerprint == key.fingerprint else {
                throw APIError.unprocessable("idempotency_key_reused", "this Idempotency-Key was used for a different request")
            }
            guard let status, let response else { break }
            return StoredReply(status: status, json: response, replayed: true)
        }
        throw APIError.conflict("idempotency_key_in_use", "a request with this Idempotency-Key is still being processed")
    }
}

