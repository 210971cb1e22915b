import Foundation
import GuildAuth
import GuildCore
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The request context of every Guildhall route: the request id and, once verified, the caller.
public struct GuildRequestContext: RequestContext, IdentifiedRequestContext {
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

    /// Response bodies follow the contract's JSON rules.
    public var responseEncoder: GuildResponseEncoder { GuildResponseEncoder() }
}
