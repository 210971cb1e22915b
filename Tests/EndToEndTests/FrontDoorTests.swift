import Crypto
import Foundation
import GuildCore
import GuildTestSupport
import NIOHTTP1
import Testing

@Suite("Through nginx: routing, gating and JSON errors on the public listener", .watched)
struct FrontDoorTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    @Test(arguments: ["auth", "booking", "tickets", "leveling", "notify"])
    func everyServiceIsHealthyWithRealChecks(service: String) async throws {
        let reply = try await stack.send(.GET, "/api/\(service)/health")
        #expect(reply.status == 200, "\(reply.text)")
        let body = try reply.json()
        #expect(body["status"] == .string("ok"))
        #expect(body["service"] == .string(service))
        #expect(body["version"]?.stringValue?.isEmpty == false)
        #expect(body["checks"]?["postgres"] == .string("ok"))
        #expect(body["checks"]?["redis"] == .string("ok"))
    }

    @Test func theWholeStacksHealthIsOneAnswer() async throws {
        let reply = try await stack.send(.GET, "/api/health")
        #expect(reply.status == 200, "\(reply.text)")
        let body = try reply.json()
        #expect(body["status"] == .string("ok"))
        #expect(body["timestamp"]?.stringValue.flatMap(RFC3339.parse) != nil)
        for service in ["auth", "booking", "tickets", "leveling", "notify"] {
            #expect(body["services"]?[service] == .string("ok"), "\(service): \(reply.text)")
        }
    }

    @Test(arguments: [
        ("GET", "/api/users/me"),
        ("GET", "/api/notifications"),
        ("GET", "/api/auth/sessions"),
        ("POST", "/api/booking/bookings"),
        ("POST", "/api/booking/vms"),
        ("GET", "/api/tickets"),
        ("POST", "/api/leveling/daily"),
        ("POST", "/api/leveling/tools"),
    ])
    func gatedRoutesRefuseAnonymousCallersWithJSON401(method: String, path: String) async throws {
        let reply = try await stack.send(HTTPMethod(rawValue: method), path)
        #expect(reply.status == 401, "\(method) \(path): \(reply.text)")
        #expect(reply.headers.first(name: "Content-Type")?.hasPrefix("application/json") == true)
        #expect(try reply.errorCode() == "unauthorized")
        #expect(try reply.json()["error"]?["request_id"]?.stringValue?.isEmpty == false)
    }

    @Test func aForgedOrExpiredTokenIsRefused() async throws {
        let token = try await stack.adminToken()
        var forged = Array(token)
        forged[forged.count - 5] = forged[forged.count - 5] == "A" ? "B" : "A"
        for bad in [String(forged), "not-a-jwt", token + "x"] {
            let reply = try await stack.send(.GET, "/api/users/me", token: bad)
            #expect(reply.status == 401, "\(reply.text)")
            #expect(try reply.errorCode() == "unauthorized")
        }
    }

    /// Tokens that are well formed but must not pass: no signature, a shared-secret signature
    /// made with the public key, another key under the same key id, changed claims, an unknown
    /// key id, and a refresh token offered as an access token.
    @Test func anUnsuitableTokenIsRefused() async throws {
        let login = try await stack.send(
            .POST, "/api/auth/login",
            json: ["username": try TestEnvironment.require("GUILDHALL_ADMIN_USERNAME"), "password": try TestEnvironment.require("GUILDHALL_ADMIN_PASSWORD")]
        )
        let token = try #require(try login.json()["token"]?.stringValue)
        let refreshToken = try #require(try login.json()["refresh_token"]?.stringValue)
        let parts = token.split(separator: ".").map(String.init)
        try #require(parts.count == 3)
        let headerBytes = try #require(Data(base64URL: parts[0]))
        let claimBytes = try #require(Data(base64URL: parts[1]))
        var header = try #require(try JSONSerialization.jsonObject(with: headerBytes) as? [String: Any])
        var claims = try #require(try JSONSerialization.jsonObject(with: claimBytes) as? [String: Any])
        let jwks = try await stack.send(.GET, "/api/auth/jwks").json()
        let publicKey = try #require(jwks["keys"]?[0]?["x"]?.stringValue)

        func encode(_ object: [String: Any]) throws -> String {
            try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]).base64URL
        }
        func signed(_ header: [String: Any], _ claims: [String: Any], with sign: (Data) throws -> Data) throws -> String {
            let input = "\(try encode(header)).\(try encode(claims))"
            return "\(input).\(try sign(Data(input.utf8)).base64URL)"
        }

        var unsuitable: [(String, String)] = []
        var none = header
        none["alg"] = "none"
        unsuitable.append(("alg none", try signed(none, claims) { _ in Data() }))
        var hmac = header
        hmac["alg"] = "HS256"
        unsuitable.append(("HS256 with the public key", try signed(hmac, claims) { input in
            Data(HMAC<SHA256>.authenticationCode(for: input, using: SymmetricKey(data: Data(publicKey.utf8))))
        }))
        let stranger = Curve25519.Signing.PrivateKey()
        unsuitable.append(("another key, same kid", try signed(header, claims) { try stranger.signature(for: $0) }))
        var elevated = claims
        elevated["sub"] = UUID().uuidString.lowercased()
        unsuitable.append(("changed subject", "\(parts[0]).\(try encode(elevated)).\(parts[2])"))
        claims["exp"] = (claims["exp"] as? Double ?? 0) + 86_400
        unsuitable.append(("extended expiry", "\(parts[0]).\(try encode(claims)).\(parts[2])"))
        header["kid"] = "unknown-key"
        unsuitable.append(("unknown kid", "\(try encode(header)).\(parts[1]).\(parts[2])"))
        unsuitable.append(("refresh token", refreshToken))
        unsuitable.append(("empty", ""))

        for (what, bad) in unsuitable {
            let reply = try await stack.send(.GET, "/api/users/me", token: bad)
            #expect(reply.status == 401, "\(what): \(reply.text)")
            #expect(try reply.errorCode() == "unauthorized", "\(what)")
        }
        // The genuine token still passes, so the refusals above are about the tokens.
        #expect(try await stack.send(.GET, "/api/users/me", token: token).status == 200)
    }

    @Test func aLoggedInUserGetsTheirOwnIdentityWhateverHeadersTheySend() async throws {
        let token = try await stack.adminToken()
        let reply = try await stack.send(
            .GET, "/api/users/me", token: token,
            headers: [("X-User-Id", "00000000-0000-0000-0000-000000000000"), ("X-User-Role", "admin")]
        )
        #expect(reply.status == 200, "\(reply.text)")
        let me = try reply.json()
        #expect(me["username"] == .string(try TestEnvironment.require("GUILDHALL_ADMIN_USERNAME")))
        #expect(me["role"] == .string("admin"))
        #expect(me["user_id"]?.stringValue != "00000000-0000-0000-0000-000000000000")
        #expect(me["user_id"]?.stringValue?.count == 36)
    }

    // (`/` is the console's page: RefreshCookieTests.)
    @Test(arguments: ["/internal/health", "/internal/leveling/events", "/metrics", "/api/nothing-here", "/index.html", "/consoles"])
    func privateAndUnknownPathsAreJSON404(path: String) async throws {
        let secret = try TestEnvironment.require("GUILDHALL_INTERNAL_SECRET")
        let reply = try await stack.send(.GET, path, token: secret)
        #expect(reply.status == 404, "\(path): \(reply.text)")
        #expect(try reply.errorCode() == "not_found")
        #expect(!reply.text.contains("<html"))
    }

    @Test func aWrongMethodIsJSON405WithAllow() async throws {
        let reply = try await stack.send(.DELETE, "/api/booking/health")
        #expect(reply.status == 405, "\(reply.text)")
        #expect(try reply.errorCode() == "method_not_allowed")
        #expect(reply.headers.first(name: "Allow")?.contains("GET") == true)
    }

    /// The largest head nginx takes (an 8 KB query, an 8 KB header) passes the gate as any other:
    /// a JSON 4xx, never a 5xx; with a real token, the answer itself.
    @Test func theLargestHeadNginxTakesGetsAJSON4xxOrItsAnswer() async throws {
        let query = "?x=" + String(repeating: "q", count: 8_000)
        let forged = String(repeating: "t", count: 8_000)
        let refused = try await stack.send(.GET, "/api/users/me" + query, token: forged)
        #expect(refused.status == 401, "\(refused.status) \(refused.text.prefix(300))")
        #expect(try refused.errorCode() == "unauthorized")
        let padded = try await stack.send(.GET, "/api/users/me" + query, token: forged, headers: [("X-Padding", String(repeating: "p", count: 8_000))])
        #expect((400..<500).contains(padded.status), "\(padded.status) \(padded.text.prefix(300))")
        #expect(padded.headers.first(name: "Content-Type")?.hasPrefix("application/json") == true)

        let user = try await stack.makeUser(role: "user", admin: try await stack.adminToken())
        let answered = try await stack.send(.GET, "/api/users/me" + query, token: user.token, headers: [("X-Padding", String(repeating: "p", count: 8_000))])
        #expect(answered.status == 200, "\(answered.status) \(answered.text.prefix(300))")
        // Longer than nginx takes: its own JSON answers.
        let tooLong = try await stack.send(.GET, "/api/users/me?x=" + String(repeating: "q", count: 9_000), token: user.token)
        #expect(tooLong.status == 414, "\(tooLong.status)")
        #expect(try tooLong.errorCode() == "uri_too_long")
        let tooLarge = try await stack.send(.GET, "/api/users/me", token: String(repeating: "t", count: 9_000))
        #expect([400, 431].contains(tooLarge.status), "\(tooLarge.status)")
        #expect(tooLarge.headers.first(name: "Content-Type")?.hasPrefix("application/json") == true)
    }

    /// Methods nobody routes get the contract's JSON error: a 405 with `Allow` where the path is
    /// known, a 400 elsewhere — never the empty answer of an HTTP parser that does not know them.
    @Test(arguments: ["TRACK", "FOO", "PRI"])
    func aMethodNobodyRoutesIsAJSONError(method: String) async throws {
        let known = try await stack.send(HTTPMethod(rawValue: method), "/api/booking/vms")
        #expect(known.status == 405, "\(method): \(known.text)")
        #expect(try known.errorCode() == "method_not_allowed")
        #expect(known.headers.first(name: "Allow") == "GET, POST, PATCH")
        for path in ["/api/nothing-here", "/api/tickets/x/y/z", "/"] {
            let unknown = try await stack.send(HTTPMethod(rawValue: method), path)
            #expect(unknown.status == 400, "\(method) \(path): \(unknown.text)")
            #expect(try unknown.errorCode() == "bad_request")
        }
    }

    @Test func aBodyOver64KiBIsJSON413AndReachesNoService() async throws {
        let body = Data(repeating: UInt8(ascii: "a"), count: 70 * 1024)
        let reply = try await stack.send(.POST, "/api/auth/login", body: body)
        #expect(reply.status == 413, "\(reply.text)")
        #expect(try reply.errorCode() == "payload_too_large")
    }

    @Test func badLoginInputIs400NamingTheField() async throws {
        let malformed = try await stack.send(.POST, "/api/auth/login", body: Data("{\"username\":".utf8))
        #expect(malformed.status == 400, "\(malformed.text)")
        #expect(try malformed.json()["error"]?["code"]?.stringValue != nil)

        let missing = try await stack.send(.POST, "/api/auth/login", json: ["username": "someone"])
        #expect(missing.status == 400, "\(missing.text)")
        #expect(missing.text.contains("password"))

        let wrong = try await stack.send(.POST, "/api/auth/login", json: ["username": "nobody-\(UUID())", "password": "wrong password"])
        #expect(wrong.status == 401, "\(wrong.text)")
    }

    @Test func theCallersRequestIdIsKeptEndToEnd() async throws {
        let id = "e2e-\(UUID().uuidString.prefix(8))"
        let reply = try await stack.send(.GET, "/api/nothing-here", headers: [("X-Request-Id", id)])
        #expect(reply.headers.first(name: "X-Request-Id") == id)
        #expect(try reply.json()["error"]?["request_id"] == .string(id))

        let upstream = try await stack.send(.DELETE, "/api/booking/health", headers: [("X-Request-Id", id)])
        #expect(upstream.headers[canonicalForm: "X-Request-Id"] == [Substring(id)])
        #expect(try upstream.json()["error"]?["request_id"] == .string(id))
    }

    @Test func publicCatalogueReadsPassWithoutAToken() async throws {
        // Reads of the catalogue are public (the service may not serve them yet, but nginx must
        // not ask for a token); writes are gated.
        for path in ["/api/auth/jwks", "/api/booking/vms", "/api/leveling/tools", "/api/leveling/leaderboard"] {
            let reply = try await stack.send(.GET, path)
            #expect(reply.status != 401, "\(path) asked for a token: \(reply.text)")
        }
        let jwks = try await stack.send(.GET, "/api/auth/jwks")
        #expect(jwks.status == 200)
        #expect(try jwks.json()["keys"]?.isEmptyArray == false)
    }
}

extension JSONValue {
    var isEmptyArray: Bool {
        if case .array(let items) = self { return items.isEmpty }
        return false
    }
}
