import GuildCore
import Hummingbird

/// Lets through only callers that present `Authorization: Bearer <INTERNAL_API_SECRET>`.
public struct InternalSecretMiddleware: RouterMiddleware {
    /// The context it works on.
    public typealias Context = GuildRequestContext
    private let expected: [UInt8]

    /// Creates the middleware.
    public init(secret: String) { self.expected = Array("Bearer \(secret)".utf8) }

    /// Refuses with 401 unless the secret matches (compared in constant time).
    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let presented = Array((request.headers[.authorization] ?? "").utf8)
        var difference = UInt8(presented.count == expected.count ? 0 : 1)
        for index in 0..<min(presented.count, expected.count) { difference |= presented[index] ^ expected[index] }
        guard difference == 0 else { throw APIError.unauthorized("the internal API secret is required") }
        return try await next(request, context)
    }
}
