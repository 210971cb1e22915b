import AsyncHTTPClient
import Foundation
import GuildCore
import NIOCore
import NIOFoundationCompat
import Synchronization

/// Calls another service's private listener (`/internal/*`) with the shared secret.
///
/// The listener may be given as several addresses separated by commas (one per replica, when
/// nothing balances them): calls take turns, and a call that cannot reach one replica goes on to
/// the next, so one replica gone costs no call. Any failure to get an answer from all of them
/// (refused, timed out, not JSON) is a 503 naming the service, so a caller's own client sees "try
/// again" rather than an error of ours.
public struct InternalClient: Sendable {
    /// The service called, for errors and logs.
    public let service: String
    /// Its private listeners, such as `http://127.0.0.1:8183`.
    public let baseURLs: [String]
    let secret: String
    /// How long one call may take.
    public let timeout: Duration
    private let turn = Turns()
    /// One call, through the client that fails a refused connection at once.
    private var call: OutboundCall { OutboundCall(target: service, timeout: timeout, bodyLimit: 4 << 20, client: Self.client) }

    /// Creates a client of `service` at `baseURL` (or at each of several, separated by commas).
    public init(service: String, baseURL: String, secret: String, timeout: Duration = .seconds(2)) {
        self.service = service
        let urls = baseURL.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        self.baseURLs = urls.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.secret = secret
        self.timeout = timeout
    }

    /// `GET path`: the status and, for a 2xx answer, the body decoded as `T` (by the contract's
    /// rules unless `decoder` says otherwise: a body kept as `JSONValue` wants its keys as sent).
    public func get<T: Decodable>(_ path: String, as type: T.Type, decoder: JSONDecoder = GuildJSON.decoder) async throws -> (status: Int, body: T?) {
        let first = turn.next()
        for attempt in 0..<max(baseURLs.count, 1) {
            guard !baseURLs.isEmpty else { break }
            var request = HTTPClientRequest(url: baseURLs[(first + attempt) % baseURLs.count] + path)
            request.headers.add(name: "Authorization", value: "Bearer \(secret)")
            guard let answer = try? await call.send(request) else { continue }  // this replica is not answering: the next one
            guard answer.isSuccess else { return (answer.status, nil) }
            do {
                return (answer.status, try answer.decode(T.self, with: decoder))
            } catch {
                throw APIError.unavailable(service)
            }
        }
        throw APIError.unavailable(service)
    }
}

extension InternalClient {
    /// The HTTP client of every call between services and to the bot: a connection that cannot be made fails the
    /// call at once (rather than being tried again with a backoff until the call's timeout, as the
    /// shared client does), so a replica that is gone costs milliseconds before the next is asked.
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()
}

/// Whose turn it is among a service's replicas.
private final class Turns: Sendable {
    private let counter = Atomic<Int>(0)

    func next() -> Int {
        counter.wrappingAdd(1, ordering: .relaxed).oldValue & Int.max
    }
}
