import Foundation
import GuildAuth
import GuildCore
import GuildServiceKit
import HTTPTypes
import Hummingbird

/// `GET /api/auth/jwks` and nginx's `GET|POST /api/auth/verify-token`.
struct TokenController: Sendable {
    let signingKey: SigningKey
    let verifier: TokenVerifier

    var endpoints: RouteCollection<GuildRequestContext> {
        let routes = RouteCollection(context: GuildRequestContext.self)
        let jwks = Self.encodedJWKS(signingKey)
        routes.get("jwks") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"], body: .init(byteBuffer: jwks))
        }
        routes.get("verify-token", use: verify)
        routes.post("verify-token", use: verify)
        return routes
    }

    /// 200 `{"valid": true}` with the identity headers for a valid access token, 401 for anything
    /// else. The middleware has verified the token already (signature cache included); no I/O here.
    /// (nginx's `auth_request` asks the verify listener, whose answers have no body; this public
    /// route answers in JSON like every other.)
    @Sendable func verify(request: Request, context: GuildRequestContext) async throws -> Response {
        guard let identity = context.identity else { throw APIError.unauthorized("invalid or missing access token") }
        var headers = HTTPFields()
        headers[.userId] = identity.userId
        headers[.userRole] = identity.role.rawValue
        headers[.sessionId] = identity.sessionId
        headers[.cacheControl] = "no-store"
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: #"{"valid":true}"#)))
    }

    private static func encodedJWKS(_ key: SigningKey) -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return ByteBuffer(bytes: (try? encoder.encode(key.jwks)) ?? Data())
    }
}

extension HTTPField.Name {
    /// The verified user id, for nginx to pass upstream.
    static let userId = HTTPField.Name("X-User-Id")!
    /// The verified role.
    static let userRole = HTTPField.Name("X-User-Role")!
    /// The verified session id.
    static let sessionId = HTTPField.Name("X-Session-Id")!
}
