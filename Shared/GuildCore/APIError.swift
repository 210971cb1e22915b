/// An error that reaches the client as the JSON error shape of the API contract.
///
/// It carries everything the response needs; the HTTP layer in `GuildServiceKit` turns it into
/// `{"error": {"code", "message", "request_id"}}` with `status` and, where set, `Retry-After`.
public struct APIError: Error, Sendable, Equatable {
    /// HTTP status code.
    public var statusCode: Int
    /// Machine-readable code, stable across releases (`invalid_field`, `not_found`, …).
    public var code: String
    /// Human-readable explanation.
    public var message: String
    /// Seconds after which a retry may succeed (`429`, `503`).
    public var retryAfter: Int?
    /// Extra response headers (for example `Allow` on a `405`).
    public var extraHeaders: [String: String]

    /// Creates an error with every field given.
    public init(status: Int, code: String, message: String, retryAfter: Int? = nil, headers: [String: String] = [:]) {
        self.statusCode = status
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
        self.extraHeaders = headers
    }
}

// MARK: - The errors of the contract

extension APIError {
    /// 400: a field is missing or out of range; the message names the field.
    public static func invalidField(_ field: String, _ reason: String) -> APIError {
        APIError(status: 400, code: "invalid_field", message: "\(field): \(reason)")
    }

    /// 400: the body is not the JSON the route expects.
    public static func malformedBody(_ reason: String) -> APIError {
        APIError(status: 400, code: "malformed_body", message: reason)
    }

    /// 401: no token, or a token that does not verify.
    public static func unauthorized(_ message: String = "a valid access token is required") -> APIError {
        APIError(status: 401, code: "unauthorized", message: message)
    }

    /// 403: authenticated, but the role does not allow it.
    public static func forbidden(_ message: String = "your role does not allow this") -> APIError {
        APIError(status: 403, code: "forbidden", message: message)
    }

    /// 404: no such thing, or one the caller may not see.
    public static func notFound(_ what: String = "resource") -> APIError {
        APIError(status: 404, code: "not_found", message: "\(what) not found")
    }

    /// 405: the path exists but not with this method.
    public static func methodNotAllowed(allowed: [String]) -> APIError {
        APIError(
            status: 405,
            code: "method_not_allowed",
            message: "allowed methods: \(allowed.joined(separator: ", "))",
            headers: ["Allow": allowed.joined(separator: ", ")]
        )
    }

    /// 409: the request clashes with the current state.
    public static func conflict(_ code: String, _ message: String) -> APIError {
        APIError(status: 409, code: code, message: message)
    }

    /// 413: the body is larger than the route accepts.
    public static let payloadTooLarge = APIError(status: 413, code: "payload_too_large", message: "request body is too large")

    /// 422: well-formed, but it breaks a business rule.
    public static func unprocessable(_ code: String, _ message: String) -> APIError {
        APIError(status: 422, code: code, message: message)
    }

    /// 429: too many requests; retry after the given seconds.
    public static func rateLimited(retryAfter: Int) -> APIError {
        APIError(status: 429, code: "rate_limited", message: "too many requests, retry later", retryAfter: max(1, retryAfter))
    }

    /// 503: a dependency is down.
    public static func unavailable(_ dependency: String, retryAfter: Int = 2) -> APIError {
        APIError(status: 503, code: "dependency_unavailable", message: "\(dependency) is unavailable", retryAfter: retryAfter)
    }

    /// 500: something unexpected; the details are in the log under the request id.
    public static let internalError = APIError(status: 500, code: "internal_error", message: "unexpected error; quote the request id")
}

/// The JSON body of every error response.
public struct ErrorBody: Codable, Sendable, Equatable {
    /// The error itself.
    public struct Detail: Codable, Sendable, Equatable {
        /// Machine-readable code.
        public var code: String
        /// Human-readable explanation.
        public var message: String
        /// The id of the request, to find it in the logs.
        public var requestId: String?

        /// Creates the detail.
        public init(code: String, message: String, requestId: String?) {
            self.code = code
            self.message = message
            self.requestId = requestId
        }

        enum CodingKeys: String, CodingKey {
            case code, message
            case requestId = "request_id"
        }
    }

    /// The error.
    public var error: Detail

    /// Creates the body.
    public init(error: Detail) { self.error = error }
}

/// A service's domain error, refused for a reason the contract names: the HTTP edge answers it
/// as ``apiError``. Repositories and rules throw these; the mapping lives beside the routes.
public protocol APIErrorConvertible: Error {
    /// The contract's error for it.
    var apiError: APIError { get }
}
