import GuildAuth
import GuildCore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The request context of every Guildhall route: the request id and, once verified, the caller.
public struct GuildRequestContext: RequestContext {
    /// Hummingbird's own storage (logger, parameters, endpoint path).
    public var coreContext: CoreRequestContextStorage
    /// The id that ties the response, the logs and nginx's access log together.
    public var requestId: String
    /// Who is calling, when the request carried a valid access token.
    public var identity: Identity?
    /// The raw bearer token, when one was sent.
    public var bearerToken: String?

    /// Creates a context for a new request.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.requestId = ""
        self.identity = nil
        self.bearerToken = nil
    }

    /// Bodies larger than this are refused with 413 (nginx enforces the same limit first).
    public var maxUploadSize: Int { 64 * 1024 }
}

/// The context of routes that need a signed-in user: a request without a valid token never reaches them.
public struct AuthenticatedContext: ChildRequestContext {
    /// Hummingbird's own storage.
    public var coreContext: CoreRequestContextStorage
    /// The request id.
    public var requestId: String
    /// The caller.
    public var identity: Identity

    /// Fails with 401 when the parent context has no verified caller.
    public init(context: GuildRequestContext) throws {
        guard let identity = context.identity else { throw APIError.unauthorized() }
        self.coreContext = context.coreContext
        self.requestId = context.requestId
        self.identity = identity
    }

    /// Same limit as the parent context.
    public var maxUploadSize: Int { 64 * 1024 }

    /// Fails with 403 unless the caller has one of `roles`.
    public func require(_ roles: Role...) throws {
        guard roles.contains(identity.role) else { throw APIError.forbidden() }
    }

    /// Fails with 403 unless the caller is staff (admin or moderator).
    public func requireStaff() throws {
        guard identity.role.isStaff else { throw APIError.forbidden() }
    }
}
