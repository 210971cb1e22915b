import Foundation
import GuildCore
import GuildTestSupport
import NIOHTTP1
import Testing

@Suite("Through nginx: Discord login against a fake Discord", .serialized, .watched)
struct DiscordLoginTests {
    let stack: StackClient
    let fake = FakeDiscord.shared

    init() throws {
        stack = try StackClient()
    }

    struct Started {
        var state: String
        var challenge: String
        var redirectURI: String
        var cookie: String
    }

    /// `GET /api/discord/auth`: the authorize URL and the browser cookie.
    func start(platform: String = "web", returnURL: String? = "http://127.0.0.1:5173/auth/done") async throws -> Started {
        var path = "/api/discord/auth?platform=\(platform)"
        if let returnURL { path += "&return_url=\(returnURL.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }
        let reply = try await stack.send(.GET, path)
        #expect(reply.status == 200, "\(reply.text)")
        let authURL = try reply.json()["auth_url"]?.stringValue ?? ""
        let items = URLComponents(string: authURL)?.queryItems ?? []
        func item(_ name: String) -> String { items.first { $0.name == name }?.value ?? "" }
        #expect(item("code_challenge_method") == "S256")
        #expect(item("response_type") == "code")
        #expect(item("client_id") == FakeDiscord.clientId)
        let setCookie = reply.headers.first(name: "Set-Cookie") ?? ""
        #expect(setCookie.contains("HttpOnly"))
        let cookie = String(setCookie.split(separator: ";").first ?? "")
        return Started(state: item("state"), challenge: item("code_challenge"), redirectURI: item("redirect_uri"), cookie: cookie)
    }

    /// Discord redirects the browser back with `code` and `state`.
    func callback(_ started: Started, code: String, cookie: String? = nil) async throws -> StackClient.Reply {
        try await stack.send(
            .GET, "/api/discord/callback?code=\(code)&state=\(started.state)",
            headers: [("Cookie", cookie ?? started.cookie)]
        )
    }

    /// The fragment parameters of a redirect.
    func fragment(_ reply: StackClient.Reply) -> (base: String, values: [String: String]) {
        let location = reply.headers.first(name: "Location") ?? ""
        let parts = location.split(separator: "#", maxSplits: 1).map(String.init)
        return (parts.first ?? "", FakeDiscord.parseForm(parts.count > 1 ? parts[1] : ""))
    }

    func discordId() -> String { String(UInt64.random(in: 100_000_000_000_000_000...999_999_999_999_999_999)) }

    @Test func aNewDiscordUserGetsAnAccountAndTokensThroughAOneTimeCode() async throws {
        try await fake.run {
            let id = discordId()
            let started = try await start()
            fake.approve(code: "code-1", challenge: started.challenge, redirectURI: started.redirectURI, discordId: id, username: "player\(id.suffix(5))")
            let back = try await callback(started, code: "code-1")
            #expect(back.status == 302, "\(back.text)")
            let (base, values) = fragment(back)
            #expect(base == "http://127.0.0.1:5173/auth/done")
            let loginCode = try #require(values["code"])
            #expect(!(back.headers.first(name: "Location") ?? "").contains("token"))
            #expect(fake.tokenRequests.withLock { $0.last }?.hasPrefix("application/x-www-form-urlencoded") == true)

            let exchanged = try await stack.send(.POST, "/api/auth/exchange", json: ["code": loginCode])
            #expect(exchanged.status == 200, "\(exchanged.text)")
            let body = try exchanged.json()
            #expect(body["discord_id"] == .string(id))
            #expect(body["role"] == .string("user"))
            let token = try #require(body["token"]?.stringValue)
            let me = try await stack.send(.GET, "/api/users/me", token: token)
            #expect(try me.json()["discord_id"] == .string(id))

            // The code is single use.
            let again = try await stack.send(.POST, "/api/auth/exchange", json: ["code": loginCode])
            #expect(again.status == 401)
            #expect(try again.errorCode() == "invalid_login_code")

            // A second Discord login finds the same account.
            let second = try await start()
            fake.approve(code: "code-2", challenge: second.challenge, redirectURI: second.redirectURI, discordId: id, username: "renamed")
            let secondCode = try #require(fragment(try await callback(second, code: "code-2")).values["code"])
            let secondLogin = try await stack.send(.POST, "/api/auth/exchange", json: ["code": secondCode])
            #expect(try secondLogin.json()["user"]?["user_id"] == body["user"]?["user_id"])
        }
    }

    @Test func aLocalAccountLinkedToDiscordLogsInAsItself() async throws {
        try await fake.run {
            let admin = try await stack.adminToken()
            let name = "linked-\(UUID().uuidString.prefix(6).lowercased())"
            let created = try await stack.send(.POST, "/api/users", token: admin, json: ["username": name, "password": "password-\(name)", "role": "moderator"])
            let userId = try created.json()["user_id"]?.stringValue ?? ""
            let id = discordId()
            #expect(try await stack.send(.PATCH, "/api/users/\(userId)", token: admin, json: ["discord_id": id]).status == 200)

            let started = try await start(platform: "android", returnURL: nil)
            fake.approve(code: "code-link", challenge: started.challenge, redirectURI: started.redirectURI, discordId: id, username: "someone")
            let back = try await callback(started, code: "code-link")
            let (base, values) = fragment(back)
            #expect(base == "guildhall://auth/done", "android goes to the app's return URL")
            let loginCode = try #require(values["code"], "\(back.status) \(back.headers.first(name: "Location") ?? "")")
            let login = try await stack.send(.POST, "/api/auth/exchange", json: ["code": loginCode])
            #expect(login.status == 200, "\(login.text)")
            #expect(try login.json()["user"]?["user_id"] == .string(userId), "\(login.text)")
            #expect(try login.json()["role"] == .string("moderator"))
        }
    }

    @Test func stateIsSingleUseAndBoundToTheBrowser() async throws {
        try await fake.run {
            let started = try await start()
            fake.approve(code: "code-3", challenge: started.challenge, redirectURI: started.redirectURI, discordId: discordId(), username: "p3")
            let otherBrowser = try await callback(started, code: "code-3", cookie: "guildhall_oauth=someone-else")
            #expect(otherBrowser.status == 400, "\(otherBrowser.text)")
            // The state was consumed by that attempt: replaying it fails too.
            let replay = try await callback(started, code: "code-3")
            #expect(replay.status == 400)
            #expect(try replay.errorCode() != nil)
            let unknown = try await stack.send(.GET, "/api/discord/callback?code=x&state=nope", headers: [("Cookie", started.cookie)])
            #expect(unknown.status == 400)
            let missing = try await stack.send(.GET, "/api/discord/callback?code=x")
            #expect(missing.status == 400)
        }
    }

    @Test func aWrongPKCEVerifierOrADeniedConsentComesBackAsAnErrorNotTokens() async throws {
        try await fake.run {
            let started = try await start()
            fake.approve(code: "code-4", challenge: "not-the-challenge", redirectURI: started.redirectURI, discordId: discordId(), username: "p4")
            let back = try await callback(started, code: "code-4")
            #expect(back.status == 302)
            #expect(fragment(back).values == ["error": "discord_unavailable"])

            let denied = try await start()
            let reply = try await stack.send(.GET, "/api/discord/callback?error=access_denied&state=\(denied.state)", headers: [("Cookie", denied.cookie)])
            #expect(reply.status == 302)
            #expect(fragment(reply).values == ["error": "access_denied"])
        }
    }

    @Test func onlyAllowlistedReturnURLsAreAccepted() async throws {
        for url in ["https://evil.example/auth/done", "http://127.0.0.1:5173/other", "http://127.0.0.1:5174/auth/done", "javascript:alert(1)"] {
            let reply = try await stack.send(.GET, "/api/discord/auth?platform=web&return_url=\(url.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")")
            #expect(reply.status == 400, "\(url): \(reply.text)")
            #expect(reply.text.contains("return_url"))
        }
        let badPlatform = try await stack.send(.GET, "/api/discord/auth?platform=windows")
        #expect(badPlatform.status == 400)
        let redirect = try await stack.send(.GET, "/api/discord/auth?platform=web&redirect=1")
        #expect(redirect.status == 302)
        #expect(redirect.headers.first(name: "Location")?.contains("code_challenge=") == true)
    }

    @Test func badExchangeBodiesAre400() async throws {
        for body in ["{}", #"{"code": 12}"#, #"{"code": ""}"#, "nope"] {
            let reply = try await stack.send(.POST, "/api/auth/exchange", body: Data(body.utf8))
            #expect(reply.status == 400, "\(body): \(reply.text)")
        }
    }
}
