import Foundation
import GuildCore
import GuildPostgres
import HTTPTypes
import Hummingbird

extension IdempotencyKey {
    /// The key of `request`, if it sent one; a malformed one is a 400. `fingerprint` names what
    /// the request asks for (its route and the values that matter).
    public static func from(_ request: Request, owner: UUID, fingerprint: String) throws -> IdempotencyKey? {
        guard let value = request.headers[.idempotencyKey] else { return nil }
        guard (1...128).contains(value.count), value.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) else {
            throw APIError.invalidField("Idempotency-Key", "must be 1 to 128 visible ASCII characters")
        }
        return IdempotencyKey(owner: owner, key: value, fingerprint: fingerprint)
    }
}

extension StoredReply {
    /// The HTTP response (`Idempotent-Replayed: true` on a replay).
    public var response: Response {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if replayed { headers[.idempotentReplayed] = "true" }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: json)))
    }
}

extension HTTPField.Name {
    /// `Idempotency-Key`, sent by clients on writes that move hours.
    public static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    /// `Idempotent-Replayed: true` marks an answer given again for a repeated key.
    public static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
}

