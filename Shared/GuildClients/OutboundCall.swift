import AsyncHTTPClient
import Foundation
import Metrics
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// One HTTP call to another party — Discord, FCM and its token endpoint, the bot, auth's JWKS,
/// another service's listener: a timeout, a limit on the answer read, the answer's status
/// sorted, one error for a party that could not be reached, and the same metrics for every
/// target (`outbound_calls_total{target, outcome}` and `outbound_call_seconds{target}`).
public struct OutboundCall: Sendable {
    /// The party, as the metrics name it (`discord`, `fcm`, `bot` …).
    public let target: String
    /// How long a call may take, the answer included.
    public let timeout: Duration
    /// The most of an answer's body that is read; a longer one fails the call.
    public let bodyLimit: Int
    private let client: HTTPClient

    /// Calls to `target` through `client` (the shared one unless a party needs its own).
    public init(target: String, timeout: Duration, bodyLimit: Int = 1 << 20, client: HTTPClient = .shared) {
        self.target = target
        self.timeout = timeout
        self.bodyLimit = bodyLimit
        self.client = client
    }

    /// What the party answered.
    public struct Answer: Sendable {
        /// The HTTP status.
        public var status: Int
        /// The response headers.
        public var headers: HTTPHeaders
        /// The body, up to the call's limit.
        public var body: ByteBuffer

        /// 2xx.
        public var isSuccess: Bool { (200..<300).contains(status) }
        /// The body as text.
        public var text: String { String(buffer: body) }

        /// The body decoded as `T`.
        public func decode<T: Decodable>(_ type: T.Type, with decoder: JSONDecoder = JSONDecoder()) throws -> T {
            try decoder.decode(T.self, from: Data(buffer: body))
        }
    }

    /// The party could not be reached, or did not answer in time.
    public struct Unreachable: Error, CustomStringConvertible {
        /// The party.
        public var target: String
        /// What went wrong.
        public var reason: String
        public var description: String { "\(target) could not be reached: \(reason)" }
    }

    /// Sends `request`; an answer of any status is returned, a party away throws ``Unreachable``.
    public func send(_ request: HTTPClientRequest) async throws -> Answer {
        let started = ContinuousClock.now
        defer { Timer(label: "outbound_call_seconds", dimensions: [("target", target)]).recordInterval(since: started) }
        do {
            let response = try await client.execute(request, timeout: TimeAmount(timeout))
            let body = try await response.body.collect(upTo: bodyLimit)
            let answer = Answer(status: Int(response.status.code), headers: response.headers, body: body)
            count(answer.isSuccess ? "success" : "status_\(answer.status / 100)xx")
            return answer
        } catch {
            count("unreachable")
            throw Unreachable(target: target, reason: "\(error)")
        }
    }

    private func count(_ outcome: String) {
        Counter(label: "outbound_calls_total", dimensions: [("target", target), ("outcome", outcome)]).increment()
    }
}

extension Timer {
    /// Records the time from `start` to now.
    fileprivate func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = start.duration(to: .now)
        recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}
