import AsyncHTTPClient
import GuildAuth
import GuildCore
import Logging
import NIOCore
import ServiceLifecycle

/// Loads the JWKS from auth at start (retrying until it answers) and refreshes it every five minutes.
public struct JWKSLoader: Service {
    let url: String
    let verifier: TokenVerifier
    let logger: Logger

    /// Creates the loader.
    public init(url: String, verifier: TokenVerifier, logger: Logger) {
        self.url = url
        self.verifier = verifier
        self.logger = logger
    }

    /// Loads until graceful shutdown.
    public func run() async throws {
        await cancelWhenGracefulShutdown { await loadLoop() }
    }

    private func loadLoop() async {
        var backoff = Duration.milliseconds(200)
        while !Task.isCancelled {
            do {
                var request = HTTPClientRequest(url: url)
                request.method = .GET
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
                guard response.status == .ok else { throw APIError.unavailable("auth JWKS (HTTP \(response.status.code))") }
                let body = try await response.body.collect(upTo: 256 * 1024)
                try await verifier.add(jwksJSON: String(buffer: body))
                backoff = .milliseconds(200)
                try await Task.sleep(for: .seconds(300))
            } catch {
                if Task.isCancelled { return }
                logger.warning("could not load JWKS; retrying", metadata: ["url": "\(url)", "error": "\(error)"])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, .seconds(5))
            }
        }
    }
}
