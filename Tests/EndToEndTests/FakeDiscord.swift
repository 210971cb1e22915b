import Crypto
import Foundation
import GuildTestSupport
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// A small Discord of the tests' own: the OAuth2 token endpoint (form-encoded, PKCE S256
/// checked) and `GET /users/@me`, on the port the test script gave the auth service.
final class FakeDiscord: Sendable {
    struct Grant: Sendable {
        var challenge: String
        var redirectURI: String
        var user: String  // the JSON of the Discord user
    }

    private let grants = Mutex<[String: Grant]>([:])
    private let tokens = Mutex<[String: String]>([:])
    let tokenRequests = Mutex<[String]>([])

    static let clientId = "guildhall-test-client"
    static let clientSecret = "guildhall-test-secret"

    /// The user approved: Discord would now redirect with `code`.
    func approve(code: String, challenge: String, redirectURI: String, discordId: String, username: String, avatar: String = "a1b2c3") {
        let user = #"{"id":"\#(discordId)","username":"\#(username)","global_name":"\#(username.capitalized)","avatar":"\#(avatar)"}"#
        grants.withLock { $0[code] = Grant(challenge: challenge, redirectURI: redirectURI, user: user) }
    }

    func token(request: Request, context: BasicRequestContext) async throws -> Response {
        let body = try await request.body.collect(upTo: 64 * 1024)
        let form = Self.parseForm(String(buffer: body))
        tokenRequests.withLock { $0.append(request.headers[.contentType] ?? "") }
        guard request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true,
            form["client_id"] == Self.clientId, form["client_secret"] == Self.clientSecret,
            form["grant_type"] == "authorization_code",
            let code = form["code"], let verifier = form["code_verifier"],
            let grant = grants.withLock({ $0.removeValue(forKey: code) }),
            form["redirect_uri"] == grant.redirectURI,
            Data(SHA256.hash(data: Data(verifier.utf8))).base64URL == grant.challenge
        else {
            return Response(status: .badRequest, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"error":"invalid_grant"}"#)))
        }
        let accessToken = "fake-\(UUID().uuidString)"
        tokens.withLock { $0[accessToken] = grant.user }
        let answer = #"{"access_token":"\#(accessToken)","token_type":"Bearer","expires_in":604800,"scope":"identify"}"#
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: answer)))
    }

    func me(request: Request, context: BasicRequestContext) async throws -> Response {
        let header = request.headers[.authorization] ?? ""
        guard header.hasPrefix("Bearer "), let user = tokens.withLock({ $0[String(header.dropFirst(7))] }) else {
            return Response(status: .unauthorized)
        }
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: user)))
    }

    /// One fake for the whole test run: restarting a server on the same port between tests
    /// would leave the auth service holding kept-alive connections to the stopped one.
    static let shared = FakeDiscord()
    private static let server = FakeServer(name: "fake Discord")

    private init() {}

    /// Starts the fake on its port (once per run) and runs `body` while it listens.
    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        let port = Int(try TestEnvironment.require("GUILDHALL_FAKE_DISCORD_PORT")) ?? 0
        try await Self.server.start(port: port) { router in
            router.post("/api/oauth2/token") { request, context in try await self.token(request: request, context: context) }
            router.get("/api/users/@me") { request, context in try await self.me(request: request, context: context) }
        }
        return try await body()
    }

    static func parseForm(_ text: String) -> [String: String] {
        var result: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0) }
            if parts.count == 2 { result[parts[0]] = parts[1] }
        }
        return result
    }
}

extension Data {
    var base64URL: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
