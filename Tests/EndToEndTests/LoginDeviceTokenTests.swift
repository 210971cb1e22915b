import AsyncHTTPClient
import Foundation
import GuildCore
import GuildTestSupport
import NIOCore
import NIOHTTP1
import Testing

/// Password spraying from one address locks that address out, but not the accounts' owners on
/// devices they logged in from before (device tokens); a device's own failures lock only it.
///
/// Each client address is its own: Linux routes all of 127.0.0.0/8 to loopback, so a request
/// sent from 127.a.b.c reaches nginx on 127.0.0.1, which hands auth that address as the
/// client's (X-Real-IP = $remote_addr). The stack's per-address limit is high
/// (`LOGIN_MAX_FAILURES_PER_IP`, 1000 in scripts/test) so that other tests, all from 127.0.0.1,
/// never reach it; this suite sprays one address of its own until auth locks it.
@Suite("Through nginx: device tokens let known devices past a locked-out address", .watched)
struct LoginDeviceTokenTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    // MARK: - The address everyone here shares: sprayed until auth locks it

    /// A loopback address no other test (or earlier run within the lockout window) uses.
    static func freshAddress() -> String {
        "127.\(Int.random(in: 1...254)).\(Int.random(in: 0...255)).\(Int.random(in: 1...254))"
    }

    /// Sprayed once for the whole suite (a thousand failed logins take a few seconds).
    static let lockedAddress = Task<String, any Error> {
        let stack = try StackClient()
        let address = freshAddress()
        let limit = Int(ProcessInfo.processInfo.environment["LOGIN_MAX_FAILURES_PER_IP"] ?? "") ?? 30
        var attempts = 0
        while attempts < limit + 64 {
            // Eight at a time, each for another made-up name: a spray, not a guess at one account.
            let replies = try await withThrowingTaskGroup(of: StackClient.Reply.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        try await stack.login(from: address, username: StackClient.unique("sprayed"), password: "Winter2024!")
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            attempts += replies.count
            for reply in replies where reply.status != 401 {
                guard reply.status == 429, try reply.errorCode() == "too_many_login_attempts" else {
                    throw StackClient.Failure(message: "a sprayed login answered \(reply.status): \(reply.text)")
                }
                return address
            }
        }
        throw StackClient.Failure(message: "\(attempts) failed logins from \(address) did not lock it (limit \(limit))")
    }

    /// A new account (made by the admin) and its password.
    func makeAccount(_ prefix: String) async throws -> (id: String, name: String, password: String) {
        let admin = try await stack.adminToken()
        let name = StackClient.unique(prefix)
        let password = "password-\(name)"
        let created = try await stack.send(.POST, "/api/users", token: admin, json: ["username": name, "password": password, "role": "user"])
        guard created.status == 201, let id = try created.json()["user_id"]?.stringValue else {
            throw StackClient.Failure(message: "creating \(name) answered \(created.status): \(created.text)")
        }
        return (id, name, password)
    }

    /// Logs in from an address of its own and returns the device token it was given.
    func deviceToken(username: String, password: String) async throws -> String {
        let reply = try await stack.login(from: Self.freshAddress(), username: username, password: password)
        guard reply.status == 200, let token = try reply.json()["device_token"]?.stringValue, !token.isEmpty else {
            throw StackClient.Failure(message: "login of \(username) answered \(reply.status): \(reply.text)")
        }
        return token
    }

    func expectLockedOut(_ reply: StackClient.Reply, _ comment: Comment, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(reply.status == 429, "\(comment): \(reply.text)", sourceLocation: sourceLocation)
        #expect(try reply.errorCode() == "too_many_login_attempts", "\(comment)", sourceLocation: sourceLocation)
        #expect(Int(reply.headers.first(name: "Retry-After") ?? "") ?? 0 > 0, "\(comment)", sourceLocation: sourceLocation)
    }

    // MARK: - Tests

    @Test func aSuccessfulLoginHandsOutADeviceTokenAsCookieAndField() async throws {
        let account = try await makeAccount("device")
        let reply = try await stack.login(from: Self.freshAddress(), username: account.name, password: account.password)
        #expect(reply.status == 200, "\(reply.text)")
        let token = try #require(try reply.json()["device_token"]?.stringValue)
        let cookie = try #require(reply.headers.first(name: "Set-Cookie"))
        #expect(cookie.hasPrefix("guildhall_device=\(token);"), "\(cookie)")
        let attributes = Set(cookie.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) })
        #expect(attributes.isSuperset(of: ["Path=/api/auth/login", "HttpOnly", "SameSite=Strict"]), "\(cookie)")
        let maxAge = attributes.first { $0.hasPrefix("Max-Age=") }.flatMap { Int($0.dropFirst("Max-Age=".count)) } ?? 0
        #expect(maxAge >= 30 * 24 * 3600, "a device token is long-lived: \(cookie)")
        // Each login a new one.
        let again = try await deviceToken(username: account.name, password: account.password)
        #expect(again != token)
    }

    @Test func aLockedOutAddressStillLetsAKnownDeviceIn() async throws {
        let account = try await makeAccount("owner")
        let token = try await deviceToken(username: account.name, password: account.password)
        let address = try await Self.lockedAddress.value

        let withoutToken = try await stack.login(from: address, username: account.name, password: account.password)
        try expectLockedOut(withoutToken, "the right password without a device token, from the sprayed address")

        let withCookie = try await stack.login(from: address, username: account.name, password: account.password, cookie: token)
        #expect(withCookie.status == 200, "with the device cookie: \(withCookie.text)")
        #expect(try withCookie.json()["account"]?["user_id"]?.stringValue == account.id)
        #expect(try withCookie.json()["device_token"]?.stringValue != token)

        let withHeader = try await stack.login(from: address, username: account.name, password: account.password, header: token)
        #expect(withHeader.status == 200, "with X-Device-Token: \(withHeader.text)")
        #expect(try withHeader.json()["token"]?.stringValue?.isEmpty == false)
    }

    @Test func wrongPasswordsWithADeviceTokenLockThatTokenAlone() async throws {
        let account = try await makeAccount("fumbler")
        let token = try await deviceToken(username: account.name, password: account.password)
        let otherDevice = try await deviceToken(username: account.name, password: account.password)
        let address = try await Self.lockedAddress.value
        let limit = Int(ProcessInfo.processInfo.environment["LOGIN_MAX_FAILURES_PER_DEVICE"] ?? "") ?? 5

        // Counted against the token, not the locked address: each is an ordinary wrong password.
        for attempt in 1...limit {
            let wrong = try await stack.login(from: address, username: account.name, password: "not-the-password", cookie: token)
            #expect(wrong.status == 401, "wrong password \(attempt) with the device cookie: \(wrong.text)")
            #expect(try wrong.errorCode() == "invalid_credentials")
        }
        let locked = try await stack.login(from: address, username: account.name, password: "not-the-password", cookie: token)
        try expectLockedOut(locked, "one wrong password past the device's limit")
        let lockedRight = try await stack.login(from: address, username: account.name, password: account.password, header: token)
        try expectLockedOut(lockedRight, "the right password with the locked token")

        // The account's other device is not locked, and neither is the account for untrusted
        // clients elsewhere: the device's failures counted against the device only.
        let other = try await stack.login(from: address, username: account.name, password: account.password, cookie: otherDevice)
        #expect(other.status == 200, "another device of the account: \(other.text)")
        let untrusted = try await stack.login(from: Self.freshAddress(), username: account.name, password: account.password)
        #expect(untrusted.status == 200, "no device token, from another address: \(untrusted.text)")
    }

    @Test func aForgedOrAnotherAccountsDeviceTokenGivesNoExemption() async throws {
        let account = try await makeAccount("target")
        let other = try await makeAccount("neighbour")
        let ownToken = try await deviceToken(username: account.name, password: account.password)
        let othersToken = try await deviceToken(username: other.name, password: other.password)
        let address = try await Self.lockedAddress.value

        let parts = ownToken.split(separator: ".").map(String.init)
        try #require(parts.count == 5 && parts[1] == account.id, "a device token names its account: \(ownToken)")
        // The account's id in another account's token, its signature kept: the signature no longer fits.
        let renamed = othersToken.split(separator: ".").enumerated().map { $0.offset == 1 ? account.id : String($0.element) }.joined(separator: ".")
        // The account's own token with its signature changed.
        var signature = Array(parts[4])
        signature[0] = signature[0] == "A" ? "B" : "A"
        let resigned = parts[0..<4].joined(separator: ".") + "." + String(signature)

        for (forged, what) in [
            (othersToken, "another account's device token"), (renamed, "another account's token naming this account"),
            (resigned, "this account's token with a forged signature"), ("v1.garbage", "a malformed token"),
        ] {
            let viaCookie = try await stack.login(from: address, username: account.name, password: account.password, cookie: forged)
            try expectLockedOut(viaCookie, "\(what) as the cookie")
            let viaHeader = try await stack.login(from: address, username: account.name, password: account.password, header: forged)
            try expectLockedOut(viaHeader, "\(what) in X-Device-Token")
        }
        // The genuine token still works from there.
        let genuine = try await stack.login(from: address, username: account.name, password: account.password, cookie: ownToken)
        #expect(genuine.status == 200, "\(genuine.text)")
    }

    @Test func aClientCannotNameAnotherAddressThroughNginx() async throws {
        let account = try await makeAccount("spoofer")
        let address = try await Self.lockedAddress.value
        let spoofed = try await stack.login(
            from: address, username: account.name, password: account.password,
            headers: [("X-Real-IP", "127.0.0.1"), ("X-Forwarded-For", "198.51.100.7"), ("Forwarded", "for=198.51.100.7")]
        )
        try expectLockedOut(spoofed, "the sprayed address naming another one in its headers")
    }
}

extension StackClient {
    /// `POST /api/auth/login` sent from the loopback address `address`, with a device token as the
    /// `guildhall_device` cookie or the `X-Device-Token` header. nginx's own rate limit on the
    /// login route (a 429 `rate_limited`, before auth sees the request) is waited out.
    func login(
        from address: String, username: String, password: String, cookie: String? = nil, header: String? = nil,
        headers extra: [(String, String)] = []
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + "/api/auth/login")
        request.method = .POST
        request.localAddress = address
        request.headers.add(name: "Content-Type", value: "application/json")
        if let cookie { request.headers.add(name: "Cookie", value: "theme=dark; guildhall_device=\(cookie)") }
        if let header { request.headers.add(name: "X-Device-Token", value: header) }
        for (name, value) in extra { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(["username": username, "password": password])))
        for _ in 0..<100 {
            let response = try await Self.client.execute(request, timeout: .seconds(15))
            let bytes = try await response.body.collect(upTo: 1 << 20)
            let reply = Reply(status: Int(response.status.code), headers: response.headers, body: Data(bytes.readableBytesView))
            guard reply.status == 429, try reply.errorCode() == "rate_limited" else { return reply }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw Failure(message: "nginx kept rate-limiting logins from \(address)")
    }
}
