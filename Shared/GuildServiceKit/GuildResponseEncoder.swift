import GuildCore
import HTTPTypes
import Hummingbird

/// Writes every response body of a Guildhall route by the contract's JSON rules (``GuildJSON``).
public struct GuildResponseEncoder: ResponseEncoder {
    /// Creates the encoder.
    public init() {}

    /// A 200 with `value` as JSON.
    public func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws -> Response {
        let bytes = try GuildJSON.encode(value)
        return Response(
            status: .ok,
            headers: [.contentType: "application/json; charset=utf-8", .contentLength: String(bytes.count)],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }
}
