import Foundation
import GuildAuth
import GuildCore
import GuildTestSupport
import JWTKit
import Testing

/// Every kind of session end reaches the live connections standing on it, on both notify
/// replicas and through nginx: `session_ended` with the reason, then close code 4001, within a
/// second of the answer that ended the session. Other sessions' connections go on. Runs alone
/// (scripts/test): the second is a bound.
@Suite("Through nginx: live connections end with their session, on every replica")
struct SessionEndTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    /// How long after the answer that ended a session its sockets may still be open (API.md).
    static let promise: Duration = .seconds(1)

    // MARK: Revocations

    @Test func loggingOutEndsThatSessionsSocketsAndNoOthers() async throws {
        let (user, other) = try await userWithTwoSessions()
        let ending = try await sockets(user.token)
        let going = try await sockets(other, throughNginx: false)
        let started = ContinuousClock.now
        let reply = try await stack.send(.POST, "/api/auth/logout", token: user.token)
        #expect(reply.status == 200, "\(reply.text)")
        await expectEnded(ending, reason: "logged_out", since: started)
        await expectGoingOn(going)
    }

    @Test func revokingASessionFromAnotherDeviceEndsItsSockets() async throws {
        let (user, other) = try await userWithTwoSessions()
        let ending = try await sockets(other)
        let going = try await sockets(user.token, throughNginx: false)
        let started = ContinuousClock.now
        let reply = try await stack.send(.DELETE, "/api/auth/sessions/\(try Self.claims(of: other).sid)", token: user.token)
        #expect(reply.status == 200, "\(reply.text)")
        await expectEnded(ending, reason: "revoked", since: started)
        await expectGoingOn(going)
    }

    @Test func aReusedRefreshTokenEndsTheSessionsSockets() async throws {
        let user = try await stack.makeUser(role: "user", admin: try await stack.adminToken())
        let ending = try await sockets(user.token)
        let rotated = try await stack.send(.POST, "/api/auth/refresh", json: ["refresh_token": user.refresh])
        #expect(rotated.status == 200, "\(rotated.text)")
        try await Task.sleep(for: .milliseconds(2600))  // past the test stack's 2 s grace window
        let started = ContinuousClock.now
        let replay = try await stack.send(.POST, "/api/auth/refresh", json: ["refresh_token": user.refresh])
        #expect(try replay.errorCode() == "refresh_token_reused", "\(replay.text)")
        await expectEnded(ending, reason: "revoked", since: started)
    }

    @Test func disablingAnAccountEndsAllOfItsSockets() async throws {
        let admin = try await stack.adminToken()
        let (user, other) = try await userWithTwoSessions(admin: admin)
        let ending = try await sockets(user.token) + sockets(other, throughNginx: false)
        let started = ContinuousClock.now
        let reply = try await stack.send(.PATCH, "/api/users/\(user.id)", token: admin, raw: #"{"disabled":true}"#)
        #expect(reply.status == 200, "\(reply.text)")
        await expectEnded(ending, reason: "disabled", since: started)
    }

    @Test func changingThePasswordEndsTheOtherSessionsSockets() async throws {
        let (user, other) = try await userWithTwoSessions()
        let ending = try await sockets(other)
        let going = try await sockets(user.token, throughNginx: false)
        let started = ContinuousClock.now
        let reply = try await stack.send(
            .POST, "/api/users/me/password", token: user.token,
            json: ["current_password": "password-\(user.name)", "new_password": "a new passphrase for \(user.name)"]
        )
        #expect(reply.status == 204, "\(reply.text)")
        await expectEnded(ending, reason: "password_changed", since: started)
        await expectGoingOn(going)
        let old = try await stack.send(.POST, "/api/auth/login", json: ["username": user.name, "password": "password-\(user.name)"])
        #expect(old.status == 401, "the old password still logs in: \(old.text)")
        let new = try await stack.send(.POST, "/api/auth/login", json: ["username": user.name, "password": "a new passphrase for \(user.name)"])
        #expect(new.status == 200, "the new password does not log in: \(new.text)")
    }

    @Test func aWrongCurrentPasswordChangesNothing() async throws {
        let (user, other) = try await userWithTwoSessions()
        let going = try await sockets(other, throughNginx: false)
        let reply = try await stack.send(
            .POST, "/api/users/me/password", token: user.token, json: ["current_password": "not the password", "new_password": "whatever it is now"]
        )
        #expect(reply.status == 403, "\(reply.text)")
        #expect(try reply.errorCode() == "invalid_credentials")
        for (body, named) in [
            (["current_password": "password-\(user.name)", "new_password": "short"], "8 to 128 characters"),
            (["current_password": "password-\(user.name)", "new_password": String(repeating: "x", count: 129)], "8 to 128 characters"),
            (["current_password": "password-\(user.name)", "new_password": user.name.uppercased()], "username"),
        ] {
            let refused = try await stack.send(.POST, "/api/users/me/password", token: user.token, json: body)
            #expect(refused.status == 400, "\(body): \(refused.text)")
            #expect(refused.text.contains(named), "\(body): \(refused.text)")
        }
        let missing = try await stack.send(.POST, "/api/users/me/password", token: user.token, json: ["new_password": "a fine new passphrase"])
        #expect(missing.status == 403 && missing.text.contains("current_password is required"), "\(missing.text)")
        await expectGoingOn(going)
        let login = try await stack.send(.POST, "/api/auth/login", json: ["username": user.name, "password": "password-\(user.name)"])
        #expect(login.status == 200, "the password changed after all: \(login.text)")
    }

    @Test func changingTheRoleEndsAllOfTheAccountsSockets() async throws {
        let admin = try await stack.adminToken()
        let user = try await stack.makeUser(role: "moderator", admin: admin)
        let ending = try await sockets(user.token)
        let started = ContinuousClock.now
        let reply = try await stack.send(.PATCH, "/api/users/\(user.id)", token: admin, raw: #"{"role":"user"}"#)
        #expect(reply.status == 200, "\(reply.text)")
        await expectEnded(ending, reason: "role_changed", since: started)
    }

    // MARK: Expiry and fresh tokens

    @Test func aSocketEndsWhenItsTokenExpires() async throws {
        let user = try await stack.makeUser(role: "user", admin: try await stack.adminToken())
        let (short, expiresAt) = try await Self.token(like: user.token, expiringIn: 3)
        let ending = try await sockets(short)
        await expectEnded(ending, reason: "token_expired", since: Self.instant(of: expiresAt))
        for socket in ending {
            let arrived = socket.arrival(of: "session_ended")
            #expect(arrived.map { $0 >= Self.instant(of: expiresAt) - .milliseconds(100) } ?? false, "session_ended came before the token expired")
        }
    }

    @Test func aFreshTokenOfTheSameUserKeepsTheSocketPastTheFirstOnesExpiry() async throws {
        let user = try await stack.makeUser(role: "user", admin: try await stack.adminToken())
        let (short, expiresAt) = try await Self.token(like: user.token, expiringIn: 3)
        // Both straight to replica 1: the one that expires tells when replica 1 has looked.
        let refreshed = try await LiveSocket.open(token: short, replica: 1)
        let marker = try await LiveSocket.open(token: short, replica: 1)
        refreshed.send(#"{"type":"authenticate","token":"\#(user.token)"}"#)
        #expect(await refreshed.wait { $0.contains { $0["type"] == .string("authenticated") } }, "no authenticated: \(refreshed.frames)")
        let fresh = try Self.claims(of: user.token).expiresAt
        #expect(refreshed.frames("authenticated").first?["expires_at"]?.stringValue == RFC3339.format(fresh))
        await expectEnded([marker], reason: "token_expired", since: Self.instant(of: expiresAt))
        refreshed.send(#"{"type":"ping"}"#)
        #expect(await refreshed.wait { $0.contains { $0["type"] == .string("pong") } }, "the refreshed socket did not answer: \(refreshed.frames)")
        #expect(refreshed.frames("session_ended").isEmpty, "the refreshed socket ended: \(refreshed.frames)")
        await refreshed.close()
    }

    @Test func aTokenOfAnotherUserOrNoTokenAtAllEndsTheSocket() async throws {
        let admin = try await stack.adminToken()
        let user = try await stack.makeUser(role: "user", admin: admin)
        let stranger = try await stack.makeUser(role: "user", admin: admin)
        for handed in [stranger.token, "not-a-token"] {
            let socket = try await LiveSocket.open(token: user.token)
            let started = ContinuousClock.now
            socket.send(#"{"type":"authenticate","token":"\#(handed)"}"#)
            await expectEnded([socket], reason: "invalid_token", since: started)
        }
    }

    // MARK: Helpers

    /// A user logged in twice: its first session's user, and the second session's access token.
    private func userWithTwoSessions(admin: String? = nil) async throws -> (StackClient.TestUser, String) {
        let admin = if let admin { admin } else { try await stack.adminToken() }
        let user = try await stack.makeUser(role: "user", admin: admin)
        let login = try await stack.send(.POST, "/api/auth/login", json: ["username": user.name, "password": "password-\(user.name)"])
        guard login.status == 200, let token = try login.json()["token"]?.stringValue else {
            throw StackClient.Failure(message: "second login answered \(login.status): \(login.text)")
        }
        return (user, token)
    }

    /// Sockets of `token`: straight to each notify replica, and one through nginx.
    private func sockets(_ token: String, throughNginx: Bool = true) async throws -> [LiveSocket] {
        var sockets = [try await LiveSocket.open(token: token, replica: 1), try await LiveSocket.open(token: token, replica: 2)]
        if throughNginx { sockets.append(try await LiveSocket.open(token: token)) }
        return sockets
    }

    /// Every socket got `session_ended` with `reason` within ``promise`` of `start`, then close code 4001.
    private func expectEnded(_ sockets: [LiveSocket], reason: String, since start: ContinuousClock.Instant) async {
        for (index, socket) in sockets.enumerated() {
            let ended = await socket.wait(timeout: .seconds(30)) { $0.contains { $0["type"] == .string("session_ended") } }
            #expect(ended, "socket \(index) got no session_ended: \(socket.frames)")
            #expect(socket.frames("session_ended").first?["reason"] == .string(reason), "socket \(index): \(socket.frames("session_ended"))")
            if let arrived = socket.arrival(of: "session_ended") {
                #expect(arrived - start <= Self.promise, "socket \(index): session_ended \(arrived - start) after the session ended")
            }
            #expect(await socket.closeCode(within: .seconds(10)) == 4001, "socket \(index) was not closed with 4001")
        }
    }

    /// Sockets of sessions that did not end answer a ping, and were told of no end. Called once
    /// the ended sockets on the same replicas have their `session_ended` (so the revocation was
    /// acted on there): the pong is the marker after which nothing more can come.
    private func expectGoingOn(_ sockets: [LiveSocket]) async {
        for (index, socket) in sockets.enumerated() {
            socket.send(#"{"type":"ping"}"#)
            #expect(await socket.wait { $0.contains { $0["type"] == .string("pong") } }, "socket \(index) of another session stopped answering")
            #expect(socket.frames("session_ended").isEmpty, "socket \(index) of another session ended: \(socket.frames)")
            await socket.close()
        }
    }

    /// What an access token says (it is not verified here: it came from auth).
    private static func claims(of token: String) throws -> (sub: String, role: Role, sid: String, expiresAt: Date) {
        let parts = token.split(separator: ".")
        guard parts.count == 3, let data = Data(base64URLEncoded: String(parts[1])),
            let claims = try? JSONDecoder().decode(JSONValue.self, from: data),
            let sub = claims["sub"]?.stringValue, let role = claims["role"]?.stringValue.flatMap(Role.init(rawValue:)),
            let sid = claims["sid"]?.stringValue, case .number(let exp)? = claims["exp"]
        else { throw StackClient.Failure(message: "not an access token: \(token)") }
        return (sub, role, sid, Date(timeIntervalSince1970: exp))
    }

    /// A token of the same user and session as `token`, signed with the stack's key, that expires
    /// `seconds` from now (on a whole second), and that instant.
    private static func token(like token: String, expiringIn seconds: Int) async throws -> (String, Date) {
        let claims = try claims(of: token)
        let key = try SigningKey(pem: String(contentsOfFile: try StackAddresses.value(of: "AUTH_SIGNING_KEY_FILE"), encoding: .utf8))
        let keys = JWTKeyCollection()
        await keys.add(eddsa: key.privateKey, kid: JWKIdentifier(string: key.kid))
        let now = Date()
        let expiresAt = Date(timeIntervalSince1970: (now.timeIntervalSince1970 + Double(seconds)).rounded(.up))
        let short = AccessTokenClaims(
            sub: claims.sub, role: claims.role, sid: claims.sid, issuer: "guildhall-auth", audience: "guildhall",
            issuedAt: now, expiresAt: expiresAt, jti: UUID().uuidString.lowercased()
        )
        return (try await keys.sign(short, kid: JWKIdentifier(string: key.kid)), expiresAt)
    }

    /// The monotonic instant of a wall-clock `date`.
    private static func instant(of date: Date) -> ContinuousClock.Instant {
        .now + .milliseconds(Int64((date.timeIntervalSinceNow * 1000).rounded()))
    }
}
