import Foundation
import GuildCore
import GuildServiceKit
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO

/// An `Idempotency-Key` sent with a write that moves hours: a retry with the same key returns
/// the first answer and changes nothing. Keys belong to the caller and are kept for 7 days.
struct IdempotencyKey: Sendable, Equatable {
    /// Who sent it (keys of different callers never meet).
    var owner: UUID
    /// The header's value.
    var key: String
    /// What the request asked for; the same key with another request is refused.
    var fingerprint: String

    /// How long a key is remembered.
    static let retention: TimeInterval = 7 * 24 * 3600

    /// The key of `request`, if it sent one; a malformed one is a 400.
    static func from(_ request: Request, owner: UUID, fingerprint: String) throws -> IdempotencyKey? {
        guard let value = request.headers[.idempotencyKey] else { return nil }
        guard (1...128).contains(value.count), value.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) else {
            throw APIError.invalidField("Idempotency-Key", "must be 1 to 128 visible ASCII characters")
        }
        return IdempotencyKey(owner: owner, key: value, fingerprint: fingerprint)
    }
}

/// A JSON answer as it was first given, ready to be given again.
struct StoredReply: Sendable, Equatable {
    var status: Int
    var json: String
    /// True when this is a replay of an earlier request with the same key.
    var replayed: Bool

    /// The HTTP response.
    var response: Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if replayed { headers[.idempotentReplayed] = "true" }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: json)))
    }
}

extension HTTPField.Name {
    /// `Idempotency-Key`, sent by clients on writes that move hours.
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    /// `Idempotent-Replayed: true` marks an answer given again for a repeated key.
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
}

extension Database {
    /// Runs `work` in a transaction once per idempotency key and returns its answer as JSON.
    ///
    /// The key is claimed inside the same transaction as the change, so a concurrent retry
    /// waits on the key's row and then replays the committed answer; when `work` throws,
    /// nothing is kept and a retry runs afresh.
    func idempotent<Body: Encodable & Sendable>(
        _ key: IdempotencyKey?,
        status: HTTPResponse.Status = .ok,
        logger: Logger,
        _ work: @escaping @Sendable (PostgresConnection) async throws -> Body
    ) async throws -> StoredReply {
        try await transaction(logger: logger) { connection in
            if let key, let earlier = try await Self.claim(key, on: connection, logger: logger) { return earlier }
            let body = try await work(connection)
            let reply = StoredReply(status: Int(status.code), json: String(decoding: try Self.encoder.encode(body), as: UTF8.self), replayed: false)
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

    /// The encoder of Hummingbird's responses: keys as declared, RFC 3339 dates.
    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }
}
