import Foundation
import GuildTestSupport
import Testing

/// auth's verify-token listener, the one nginx's `auth_request` calls for every gated request:
/// asked directly on every auth replica, the way nginx asks it.
@Suite("auth's verify-token listener for nginx", .serialized)
struct VerifyGateTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    /// The verify-token port of every auth replica.
    func ports() throws -> [Int] {
        let ports = try TestEnvironment.require("GUILDHALL_AUTH_VERIFY_PORTS").split(separator: " ").compactMap { Int($0) }
        guard !ports.isEmpty else { throw StackClient.Failure(message: "GUILDHALL_AUTH_VERIFY_PORTS names no port") }
        return ports
    }

    static func request(_ method: String = "GET", path: String = "/api/auth/verify-token", token: String?, version: String = "HTTP/1.1") -> String {
        var request = "\(method) \(path) \(version)\r\nHost: auth\r\n"
        if let token { request += "Authorization: Bearer \(token)\r\n" }
        return request + "\r\n"
    }

    /// Ends a read once `count` complete header blocks have arrived (the answers here have no body
    /// or a short one in the same write).
    static func answers(_ count: Int) -> @Sendable (String) -> Bool {
        { text in text.components(separatedBy: "\r\n\r\n").count > count }
    }

    static func header(_ name: String, in text: String) -> String? {
        for line in text.components(separatedBy: "\r\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == name.lowercased() { return parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return nil
    }

    @Test func everyReplicaAnswersAValidTokenWithTheIdentityAndNoBody() async throws {
        let user = try await stack.makeUser(role: "moderator", admin: try await stack.adminToken())
        for port in try ports() {
            for method in ["GET", "POST"] {
                let reply = try await RawHTTP.exchange(Self.request(method, token: user.token), port: port, done: Self.answers(1))
                #expect(reply.statuses == [200], "port \(port) \(method): \(reply.text)")
                #expect(Self.header("X-User-Id", in: reply.text) == user.id)
                #expect(Self.header("X-User-Role", in: reply.text) == "moderator")
                #expect(Self.header("X-Session-Id", in: reply.text)?.isEmpty == false)
                #expect(Self.header("Content-Length", in: reply.text) == "0")
                #expect(!reply.closed, "a keep-alive connection was closed after a 200")
            }
        }
    }

    @Test func anythingButAValidAccessTokenIs401WithoutABodyAndTheConnectionKept() async throws {
        let user = try await stack.makeUser(role: "user", admin: try await stack.adminToken())
        let unsuitable: [(String, String?)] = [
            ("no Authorization", nil),
            ("not a JWT", "not-a-token"),
            ("a refresh token", user.refresh),
            ("a tampered signature", String(user.token.dropLast(4)) + (user.token.hasSuffix("AAAA") ? "BBBB" : "AAAA")),
        ]
        for port in try ports() {
            for (name, token) in unsuitable {
                // Two requests on one connection: a refusal must not cost nginx its connection.
                let twice = Self.request(token: token) + Self.request(token: token)
                let reply = try await RawHTTP.exchange(twice, port: port, done: Self.answers(2))
                #expect(reply.statuses == [401, 401], "port \(port), \(name): \(reply.text)")
                #expect(Self.header("Content-Length", in: reply.text) == "0", "\(name): \(reply.text)")
                #expect(!reply.closed, "\(name): the connection was closed after a 401")
            }
            let basic = "GET /api/auth/verify-token HTTP/1.1\r\nHost: auth\r\nAuthorization: Basic dXNlcjpwYXNz\r\n\r\n"
            #expect(try await RawHTTP.exchange(basic, port: port, done: Self.answers(1)).statuses == [401])
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrderAndHTTP10Closes() async throws {
        let user = try await stack.makeUser(role: "user", admin: try await stack.adminToken())
        for port in try ports() {
            // A first-seen token's signature is checked asynchronously; the answers still keep their order.
            let fresh = try await stack.makeUser(role: "user", admin: try await stack.adminToken())
            let pipelined = Self.request(token: fresh.token) + Self.request(token: "garbage") + Self.request(token: user.token)
            let reply = try await RawHTTP.exchange(pipelined, port: port, done: Self.answers(3))
            #expect(reply.statuses == [200, 401, 200], "port \(port): \(reply.text)")
            let ids = reply.text.components(separatedBy: "\r\n").filter { $0.lowercased().hasPrefix("x-user-id:") }
                .map { $0.dropFirst("x-user-id:".count).trimmingCharacters(in: .whitespaces) }
            #expect(ids == [fresh.id, user.id], "\(ids)")

            let old = try await RawHTTP.exchange(Self.request(token: user.token, version: "HTTP/1.0"), port: port)
            #expect(old.statuses == [200], "\(old.text)")
            #expect(old.closed, "HTTP/1.0 without keep-alive: the server must close")
        }
    }

    @Test func otherPathsMethodsAndMalformedRequestsGetClearErrors() async throws {
        for port in try ports() {
            let elsewhere = try await RawHTTP.exchange(Self.request(path: "/api/users/me", token: nil), port: port, done: { $0.contains("}") })
            #expect(elsewhere.statuses == [404], "\(elsewhere.text)")
            #expect(elsewhere.text.contains(#""code":"not_found""#))

            let delete = try await RawHTTP.exchange(Self.request("DELETE", token: nil), port: port, done: { $0.contains("}") })
            #expect(delete.statuses == [405], "\(delete.text)")
            #expect(delete.text.contains(#""code":"method_not_allowed""#))
            #expect(Self.header("Allow", in: delete.text) == "GET, POST")

            let malformed = try await RawHTTP.exchange("NOT HTTP AT ALL\r\n\r\n", port: port)
            #expect(malformed.statuses == [400], "\(malformed.text)")
            #expect(malformed.closed)
        }
    }

    @Test func requestsArrivingInPiecesOrWithABodyAreAnsweredAndOverlongHeadsRefused() async throws {
        let user = try await stack.makeUser(role: "user", admin: try await stack.adminToken())
        for port in try ports() {
            let request = Self.request(token: user.token)
            let cuts = [5, request.utf8.count / 2, request.utf8.count - 1].map { request.utf8.index(request.startIndex, offsetBy: $0) }
            let pieces = [String(request[..<cuts[0]]), String(request[cuts[0]..<cuts[1]]), String(request[cuts[1]..<cuts[2]]), String(request[cuts[2]...])]
            let slow = try await RawHTTP.exchange(pieces: pieces, port: port, done: Self.answers(1))
            #expect(slow.statuses == [200], "port \(port), a request in pieces: \(slow.text)")

            // A body is skipped, also when it comes after the answer, and the next request is read.
            let post = "POST /api/auth/verify-token HTTP/1.1\r\nAuthorization: Bearer \(user.token)\r\nContent-Length: 10\r\n\r\n"
            let withBody = try await RawHTTP.exchange(pieces: [post + "01234", "56789" + request], port: port, done: Self.answers(2))
            #expect(withBody.statuses == [200, 200], "port \(port), a request with a body: \(withBody.text)")

            let overlong = "GET /api/auth/verify-token HTTP/1.1\r\nX-Padding: \(String(repeating: "a", count: 70_000))\r\n\r\n"
            let refused = try await RawHTTP.exchange(overlong, port: port)
            #expect(refused.statuses == [431], "port \(port): \(refused.text.prefix(200))")
            #expect(refused.text.contains(#""code":"headers_too_large""#))
            #expect(refused.closed)
        }
    }

    @Test func aLoggedOutSessionIsRefusedByEveryReplicaWithinASecond() async throws {
        let user = try await stack.makeUser(role: "user", admin: try await stack.adminToken())
        let ports = try ports()
        for port in ports {
            let before = try await RawHTTP.exchange(Self.request(token: user.token), port: port, done: Self.answers(1))
            #expect(before.statuses == [200], "port \(port): \(before.text)")
        }
        let logout = try await stack.send(.POST, "/api/auth/logout", token: user.token)
        #expect(logout.status == 200, "\(logout.text)")
        let refused = await eventually(timeout: .seconds(1), every: .milliseconds(20)) {
            for port in ports {
                let reply = try? await RawHTTP.exchange(Self.request(token: user.token), port: port, done: Self.answers(1))
                guard reply?.statuses == [401] else { return false }
            }
            return true
        }
        #expect(refused, "a replica still let the token through a second after logout")
    }
    /// The 2xx answers auth's replicas have counted (their API's and the gate's), summed.
    func authAnswers() async throws -> Double {
        var total = 0.0
        for replica in 1...(try ports().count) {
            let metrics = try await StackClient.internalGet("auth", "/metrics", replica: replica)
            for line in metrics.text.split(separator: "\n") where line.hasPrefix("http_responses_total{") && line.contains(#"status_class="2xx""#) {
                total += Double(line.split(separator: " ").last ?? "") ?? 0
            }
        }
        return total
    }

    /// Through nginx: the gate keeps a token's 200 a moment (a burst of one token's requests asks
    /// auth a few times, not once each), and still refuses the token within a second of logout —
    /// nginx's own 401, not the service's.
    @Test func theGateKeepsATokensAnswerAMomentAndRefusesItWithinASecondOfLogout() async throws {
        let user = try await stack.makeUser(role: "user", admin: try await stack.adminToken())
        let before = try await authAnswers()
        for _ in 0..<30 {
            let reply = try await stack.send(.GET, "/api/booking/wallet", token: user.token)
            #expect(reply.status == 200, "\(reply.text)")
        }
        let asked = try await authAnswers() - before
        #expect(asked < 15, "30 gated requests of one token asked auth \(asked) times")

        let logout = try await stack.send(.POST, "/api/auth/logout", token: user.token)
        #expect(logout.status == 200, "\(logout.text)")
        let started = ContinuousClock.now
        let refusedAtTheGate = await eventually(timeout: .seconds(1), every: .milliseconds(20)) {
            guard let reply = try? await stack.send(.GET, "/api/booking/wallet", token: user.token) else { return false }
            // The gate's refusal is nginx's page; a service's reads "a valid access token is required".
            return reply.status == 401 && reply.text.contains(#""message":"A valid access token is required.""#)
        }
        #expect(refusedAtTheGate, "the gate still let the token through \(ContinuousClock.now - started) after logout")
    }
}
