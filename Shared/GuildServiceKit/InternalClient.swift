import AsyncHTTPClient
import Foundation
import GuildCore
import NIOCore

/// Calls another service's private listener (`/internal/*`) with the shared secret.
///
/// Any failure to get an answer (refused, timed out, not JSON) is a 503 naming the service, so a
/// caller's own client sees "try again" rather than an error of ours.
public struct InternalClient: Sendable {
    /// The service called, for errors and logs.
    public let service: String
    /// Its private listener, such as `http://127.0.0.1:8183`.
    public let baseURL: String
    let secret: String
    let timeout: Duration

    /// Creates a client of `service` at `baseURL`.
    public init(service: String, baseURL: String, secret: String, timeout: Duration = .seconds(2)) {
        self.service = service
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.secret = secret
        self.timeout = timeout
    }

    /// `GET path`: the status and, for a 2xx answer, the body decoded as `T` (by the contract's
    /// rules unless `decoder` says otherwise: a body kept as `JSONValue` wants its keys as sent).
    public func get<T: Decodable>(_ path: String, as type: T.Type, decoder: JSONDecoder = GuildJSON.decoder) async throws -> (status: Int, body: T?) {
        var request = HTTPClientRequest(url: baseURL + path)
        request.headers.add(name: "Authorization", value: "Bearer \(secret)")
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: TimeAmount(timeout))
            let body = try await response.body.collect(upTo: 4 << 20)
            let status = Int(response.status.code)
            guard (200..<300).contains(status) else { return (status, nil) }
            return (status, try decoder.decode(T.self, from: Data(buffer: body)))
        } catch {
            throw APIError.unavailable(service)
        }
    }
}
