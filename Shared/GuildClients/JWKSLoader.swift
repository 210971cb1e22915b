import GuildConcurrency
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
        await repeatUntilCancelled(failed: { error, _ in
            logger.warning("could not load JWKS; retrying", metadata: ["url": "\(url)", "error": "\(error)"])
        }) { backoff in
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            let answer = try await OutboundCall(target: "auth_jwks", timeout: .seconds(5), bodyLimit: 256 * 1024).send(request)
            guard answer.status == 200 else { throw APIError.unavailable("auth JWKS (HTTP \(answer.status))") }
            try await verifier.add(jwksJSON: answer.text)
            backoff.reset()
            try await Task.sleep(for: .seconds(300))
        }
    }
}
