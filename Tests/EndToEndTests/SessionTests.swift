import Foundation
import GuildCore
import GuildTestSupport
import NIOHTTP1
import Testing

@Suite("Through nginx: refresh rotation, reuse detection, logout and sessions")
struct SessionTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    struct Pair {
        var token: String
        var refreshToken: String
    }

    func login() async throws -> Pair {
        let reply = try await stack.send(
            .POST, "/api/auth/login",
            json: ["username": try TestEnvironment.require("GUILDHALL_ADMIN_USERNAME"), "password": try TestEnvironment.require("GUILDHALL_ADMIN_PASSWORD")]
        )
        #expect(reply.status == 200, "\(reply.text)")
        let body = try reply.json()
        return Pair(token: body["token"]?.stringValue ?? "", refreshToken: body["refresh_token"]?.stringValue ?? "")
    }

    func refresh(_ refreshToken: String) async throws -> StackClient.Reply {
        try await stack.send(.POST, "/api/auth/refresh", json: ["refresh_token": refreshToken])
    }

    func pair(_ reply: StackClient.Reply) throws -> Pair {
        let body = try reply.json()
        return Pair(token: body["token"]?.stringValue ?? "", refreshToken: body["refresh_token"]?.stringValue ?? "")
    }

    /// The `sid` claim of an access token.
    func sessionId(of token: String) throws -> String {
        let parts = token.split(separator: ".")
        guard parts.count == 3, let payload = Data(base64URL: String(parts[1])) else { throw StackClient.Failure(message: "not a JWT") }
        return try JSONDecoder().decode(JSONValue.self, from: payload)["sid"]?.stringValue ?? ""
    }

    func meStatus(_ token: String) async throws -> Int {
        try await stack.send(.GET, "/api/users/me", token: token).status
    }

    @Test func aRefreshTokenRotatesOnEveryUse() async throws {
        let first = try await login()
        let reply = try await refresh(first.refreshToken)
        #expect(reply.status == 200, "\(reply.text)")
        let second = try pair(reply)
        #expect(second.refreshToken != first.refreshToken)
        #expect(second.token != first.token)
        #expect(try reply.json()["expires_in"] != nil)
        #expect(try await meStatus(second.token) == 200)

        let third = try await refresh(second.refreshToken)
        #expect(third.status == 200, "\(third.text)")
    }

    @Test func replayingASpentRefreshTokenRevokesTheWholeSession() async throws {
        let first = try await login()
        let second = try pair(try await refresh(first.refreshToken))
        #expect(try await meStatus(second.token) == 200)
        try await Task.sleep(for: .milliseconds(2600))  // past the test stack's 2 s grace window

        let replay = try await refresh(first.refreshToken)
        #expect(replay.status == 401, "\(replay.text)")
        #expect(try replay.errorCode() == "refresh_token_reused", "\(replay.text)")
        // The thief's copy and the owner's newer tokens are all dead now, on every replica.
        let newer = try await refresh(second.refreshToken)
        #expect(newer.status == 401)
        #expect(try newer.errorCode() == "invalid_refresh_token")
        let refused = await eventually(timeout: .seconds(1), every: .milliseconds(50)) {
            let first = try? await meStatus(second.token)
            let again = try? await meStatus(second.token)
            return first == 401 && again == 401
        }
        #expect(refused, "the session's access token still passes after reuse detection")
    }

    @Test func twoConcurrentRefreshesOfOneTokenGetTheSamePair() async throws {
        let first = try await login()
        async let a = refresh(first.refreshToken)
        async let b = refresh(first.refreshToken)
        let (one, two) = try await (a, b)
        #expect(one.status == 200, "\(one.text)")
        #expect(two.status == 200, "\(two.text)")
        #expect(try pair(one).refreshToken == pair(two).refreshToken)
        #expect(try await meStatus(try pair(one).token) == 200)
    }

    @Test(arguments: [
        #"{"refresh_token": 5}"#, #"{"refresh_token": ""}"#, "not json",
    ])
    func badRefreshBodiesAre400(body: String) async throws {
        let reply = try await stack.send(.POST, "/api/auth/refresh", body: Data(body.utf8))
        #expect(reply.status == 400, "\(body): \(reply.text)")
    }

    /// `{}` is a web app's refresh by cookie (RefreshCookieTests); without one it has no token to refresh.
    @Test func aRefreshWithoutAnyTokenIs401() async throws {
        let reply = try await stack.send(.POST, "/api/auth/refresh", body: Data("{}".utf8))
        #expect(reply.status == 401, "\(reply.text)")
        #expect(try reply.errorCode() == "invalid_refresh_token", "\(reply.text)")
    }

    @Test func anUnknownRefreshTokenIs401() async throws {
        let reply = try await refresh("not-a-real-refresh-token")
        #expect(reply.status == 401)
        #expect(try reply.errorCode() == "invalid_refresh_token")
    }

    /// Logout on one replica; verify-token answers from memory on both auth replicas behind
    /// nginx, so every one of them must refuse the token within a second.
    @Test func logoutStopsTheTokenOnEveryReplicaWithinASecond() async throws {
        let session = try await login()
        #expect(try await meStatus(session.token) == 200)
        let logout = try await stack.send(.POST, "/api/auth/logout", token: session.token)
        #expect(logout.status == 200, "\(logout.text)")
        let started = ContinuousClock.now
        let refusedEverywhere = await eventually(timeout: .seconds(1), every: .milliseconds(20)) {
            var statuses: [Int] = []
            for _ in 0..<6 { statuses.append((try? await meStatus(session.token)) ?? 0) }
            return statuses.allSatisfy { $0 == 401 }
        }
        #expect(refusedEverywhere, "some replica still accepted the token \(ContinuousClock.now - started) after logout")
        let verify = try await stack.send(.GET, "/api/auth/verify-token", token: session.token)
        #expect(verify.status == 401)
        let refreshAfterLogout = try await refresh(session.refreshToken)
        #expect(refreshAfterLogout.status == 401)
    }

    @Test func ownSessionsCanBeListedAndRevoked() async throws {
        let current = try await login()
        let other = try await login()
        let list = try await stack.send(.GET, "/api/auth/sessions", token: current.token)
        #expect(list.status == 200, "\(list.text)")
        guard case .array(let items)? = try list.json()["items"] else {
            Issue.record("no items: \(list.text)")
            return
        }
        #expect(items.contains { $0["current"] == .bool(true) })
        let otherId = try sessionId(of: other.token)
        #expect(items.contains { $0["id"] == .string(otherId) && $0["current"] == .bool(false) })

        // Revoke the other login's session (only that one: other tests log in as the same admin).
        let revoked = try await stack.send(.DELETE, "/api/auth/sessions/\(otherId)", token: current.token)
        #expect(revoked.status == 200, "\(revoked.text)")
        let otherRefused = await eventually(timeout: .seconds(1), every: .milliseconds(50)) {
            let first = try? await meStatus(other.token)
            let again = try? await meStatus(other.token)
            return first == 401 && again == 401
        }
        #expect(otherRefused)
        #expect(try await meStatus(current.token) == 200)

        let unknown = try await stack.send(.DELETE, "/api/auth/sessions/\(UUID().uuidString.lowercased())", token: current.token)
        #expect(unknown.status == 404)
        let malformed = try await stack.send(.DELETE, "/api/auth/sessions/not-an-id", token: current.token)
        #expect(malformed.status == 404)

        let all = try await stack.send(.GET, "/api/auth/active-sessions", token: current.token)
        #expect(all.status == 200, "\(all.text)")
    }
}

extension Data {
    init?(base64URL text: String) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64.append("=") }
        self.init(base64Encoded: base64)
    }
}

@Suite("Through nginx: the brute-force brake on password login", .watched)
struct LoginThrottleTests {
    @Test func fiveWrongPasswordsForOneNameLockItWith429AndRetryAfter() async throws {
        let stack = try StackClient()
        let username = "victim-\(UUID().uuidString.prefix(8).lowercased())"
        for _ in 0..<5 {
            let reply = try await stack.send(.POST, "/api/auth/login", json: ["username": username, "password": "guess"])
            #expect(reply.status == 401, "\(reply.text)")
        }
        let locked = try await stack.send(.POST, "/api/auth/login", json: ["username": username, "password": "guess"])
        #expect(locked.status == 429, "\(locked.text)")
        #expect(try locked.errorCode() == "too_many_login_attempts")
        #expect(Int(locked.headers.first(name: "Retry-After") ?? "") ?? 0 > 0)
    }
}
