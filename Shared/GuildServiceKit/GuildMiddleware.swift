import GuildAuth
import GuildConcurrency
import GuildCore
import GuildRedis
import HTTPTypes
import Hummingbird
import GuildPostgres
import Logging
import Metrics
import PostgresNIO

/// The one middleware every public route runs through, kept to a single pass for speed:
/// it adopts nginx's request id (or makes one), verifies a bearer token if present, and turns
/// every error into the JSON error shape with the request id, logging the unexpected ones.
public struct GuildMiddleware: RouterMiddleware {
    /// The context it works on.
    public typealias Context = GuildRequestContext

    private let verifier: TokenVerifier?
    private let responses: ResponseCounters

    /// Creates the middleware; without a verifier no identity is ever set.
    public init(verifier: TokenVerifier?, service: String) {
        self.verifier = verifier
        self.responses = ResponseCounters(service: service)
    }

    /// Handles one request.
    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let requestId = request.headers[.requestID].flatMap { $0.count <= 128 ? $0 : nil } ?? context.id
        context.requestId = requestId
        context.logger[metadataKey: "request_id"] = .string(requestId)
        if let token = request.headers[.authorization].flatMap(TokenVerifier.bearerToken) {
            context.bearerToken = token
            if let verifier, let identity = try? await verifier.verify(token) {
                context.identity = identity
                context.logger[metadataKey: "user_id"] = .string(identity.userId)
            }
        }
        do {
            var response = try await next(request, context)
            response.headers[.requestID] = requestId
            responses.count(response.status.code)
            return response
        } catch {
            var response = Self.apiError(for: error, logger: context.logger).errorResponse(requestId: requestId)
            response.headers[.requestID] = requestId
            responses.count(response.status.code)
            return response
        }
    }

    /// Maps any error to the error of the contract; unexpected ones are logged as errors.
    public static func apiError(for error: any Error, logger: Logger) -> APIError {
        if let error = error as? PSQLError, let answer = DatabaseErrors.answer(for: error) {
            // A query the database refused for its data, not for being down: never a 500.
            logger.notice("database refused the request", metadata: ["sql_state": "\(error.serverInfo?[.sqlState] ?? "")"])
            return answer
        }
        switch error {
        case let error as APIError:
            return error
        case let error as any APIErrorConvertible:
            return error.apiError
        case let error as HTTPError:
            return apiError(for: error)
        case let error as PostgresTransactionError:
            // The transaction's own failure is what matters (its rollback error, if any, follows from it).
            let cause: (any Error)? = error.closureError ?? error.beginError ?? error.commitError
            return apiError(for: cause ?? error.rollbackError ?? DeadlineExceeded(), logger: logger)
        case is DatabaseUnreachable:
            return .unavailable("database", retryAfter: 1)
        case let error as PSQLError where DatabaseErrors.isUnavailable(error):
            logger.warning("database unavailable", metadata: ["error": "\(String(reflecting: error))"])
            return .unavailable("database")
        case let error where String(reflecting: type(of: error)).contains("ConnectionPoolError"):
            // PostgresNIO's pool refusing to hand out connections (database unreachable).
            logger.warning("database unavailable", metadata: ["error": "\(String(reflecting: error))"])
            return .unavailable("database")
        case is RedisError:
            logger.warning("redis unavailable", metadata: ["error": "\(error)"])
            return .unavailable("redis")
        case is DeadlineExceeded:
            logger.warning("dependency timed out")
            return .unavailable("a dependency")
        case let error as any HTTPResponseError:
            return APIError(status: Int(error.status.code), code: codeName(for: Int(error.status.code)), message: error.status.reasonPhrase)
        default:
            logger.error("unexpected error", metadata: ["error": "\(String(reflecting: error))"])
            return .internalError
        }
    }

    private static func apiError(for error: HTTPError) -> APIError {
        let status = Int(error.status.code)
        switch status {
        case 404: return .notFound("route")
        case 413: return .payloadTooLarge
        default:
            return APIError(status: status, code: codeName(for: status), message: error.body ?? error.status.reasonPhrase)
        }
    }

    private static func codeName(for status: Int) -> String {
        switch status {
        case 400: "bad_request"
        case 401: "unauthorized"
        case 403: "forbidden"
        case 404: "not_found"
        case 405: "method_not_allowed"
        case 409: "conflict"
        case 413: "payload_too_large"
        case 415: "unsupported_media_type"
        case 422: "unprocessable"
        case 429: "rate_limited"
        case 503: "dependency_unavailable"
        default: status < 500 ? "bad_request" : "internal_error"
        }
    }
}

/// `http_responses_total{service, status_class}`: five counters made once, so counting costs no allocation.
public struct ResponseCounters: Sendable {
    private let counters: [Counter]

    /// Creates (or finds) the service's counters.
    public init(service: String) {
        counters = ["1xx", "2xx", "3xx", "4xx", "5xx"].map {
            Counter(label: "http_responses_total", dimensions: [("service", service), ("status_class", $0)])
        }
    }

    /// Counts one response with `status`.
    public func count(_ status: Int) {
        counters[min(max(status / 100 - 1, 0), 4)].increment()
    }
}

extension HTTPField.Name {
    /// `X-Request-Id`, set by nginx and echoed on every response.
    public static let requestID = HTTPField.Name("X-Request-Id")!
}
