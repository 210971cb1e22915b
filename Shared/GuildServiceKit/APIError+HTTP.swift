import Foundation
import GuildCore
import HTTPTypes
import Hummingbird

extension APIError: HTTPResponseError {
    /// The HTTP status.
    public var status: HTTPResponse.Status { .init(code: statusCode) }

    /// `Retry-After` and any extra headers.
    public var headers: HTTPFields {
        var fields = HTTPFields()
        if let retryAfter { fields[.retryAfter] = String(retryAfter) }
        for (name, value) in extraHeaders {
            if let field = HTTPField.Name(name) { fields[field] = value }
        }
        return fields
    }

    /// The JSON error body of the contract.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let requestId = (context as? any IdentifiedRequestContext)?.requestId
        return errorResponse(requestId: requestId)
    }

    /// Builds the response without a context (middleware and tests).
    public func errorResponse(requestId: String?) -> Response {
        var fields: HTTPFields = self.headers
        fields[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: jsonBody(requestId: requestId))))
    }

    /// The contract's JSON error body, `{"error": {"code", "message", "request_id"}}`.
    public func jsonBody(requestId: String?) -> Data {
        let body = ErrorBody(error: .init(code: code, message: message, requestId: requestId))
        return (try? JSONEncoder().encode(body)) ?? Data(#"{"error":{"code":"internal_error","message":"unexpected error"}}"#.utf8)
    }
}
