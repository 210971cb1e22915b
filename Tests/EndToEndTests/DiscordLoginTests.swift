import Crypto
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
            #expect(try secondLogin.json()["account"]?["user_id"] == body["account"]?["user_id"])
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
            #expect(try login.json()["account"]?["user_id"] == .string(userId), "\(login.text)")
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

    // MARK: Single-page and native apps

    /// `GET /api/discord/auth` for an app that brings its own PKCE challenge: no cookie is set.
    func startApp(platform: String, returnURL: String, challenge: String) async throws -> Started {
        let encoded = returnURL.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let reply = try await stack.send(.GET, "/api/discord/auth?platform=\(platform)&return_url=\(encoded)&code_challenge=\(challenge)&code_challenge_method=S256")
        #expect(reply.status == 200, "\(reply.text)")
        #expect(reply.headers.first(name: "Set-Cookie") == nil, "an app's login was bound to a cookie it will never present")
        let items = URLComponents(string: try reply.json()["auth_url"]?.stringValue ?? "")?.queryItems ?? []
        func item(_ name: String) -> String { items.first { $0.name == name }?.value ?? "" }
        #expect(item("code_challenge") != challenge, "the app's challenge went to Discord instead of the server's own")
        return Started(state: item("state"), challenge: item("code_challenge"), redirectURI: item("redirect_uri"), cookie: "")
    }

    /// A PKCE verifier and its S256 challenge.
    func pkce() -> (verifier: String, challenge: String) {
        let verifier = (0..<2).map { _ in UUID().uuidString }.joined() + "-._~"
        return (verifier, Data(SHA256.hash(data: Data(verifier.utf8))).base64URLEncodedString())
    }

    @Test func aSinglePageAppsHashRouteGetsTheCodeInItsQuery() async throws {
        try await fake.run {
            for (returnURL, expected) in [
                ("http://localhost:5173/app#/login", "http://localhost:5173/app#/login?code="),
                ("http://localhost:5173/app#/login?next=%2Fbookings", "http://localhost:5173/app#/login?next=%2Fbookings&code="),
                ("http://localhost:5173/app", "http://localhost:5173/app#code="),
            ] {
                let started = try await start(returnURL: returnURL)
                let code = "code-spa-\(UUID().uuidString.prefix(8))"
                fake.approve(code: code, challenge: started.challenge, redirectURI: started.redirectURI, discordId: discordId(), username: "spa")
                let back = try await callback(started, code: code)
                let location = back.headers.first(name: "Location") ?? ""
                #expect(back.status == 302 && location.hasPrefix(expected), "\(returnURL): \(back.status) \(location)")
                let loginCode = String(location.dropFirst(expected.count))
                let exchanged = try await stack.send(.POST, "/api/auth/exchange", json: ["code": loginCode])
                #expect(exchanged.status == 200, "\(returnURL): \(exchanged.text)")
            }
            // The allowlist still decides, fragment or not.
            for url in ["http://localhost:5173/other#/login", "http://evil.example/app#/login"] {
                let reply = try await stack.send(.GET, "/api/discord/auth?platform=web&return_url=\(url.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")")
                #expect(reply.status == 400, "\(url): \(reply.text)")
            }
        }
    }

    @Test func aNativeAppBindsItsLoginToItsOwnChallengeAndMustPresentTheVerifier() async throws {
        try await fake.run {
            for (platform, returnURL) in [("android", "com.example.guildhall:/oauth"), ("ios", "http://127.0.0.1:8765/callback")] {
                // The system browser reaches the callback without the cookie: the challenge binds it.
                let right = pkce()
                let started = try await startApp(platform: platform, returnURL: returnURL, challenge: right.challenge)
                let id = discordId()
                fake.approve(code: "code-\(platform)-1", challenge: started.challenge, redirectURI: started.redirectURI, discordId: id, username: "app\(platform)")
                let back = try await stack.send(.GET, "/api/discord/callback?code=code-\(platform)-1&state=\(started.state)")
                let (base, values) = fragment(back)
                #expect(back.status == 302 && base == returnURL, "\(platform): \(back.status) \(back.headers.first(name: "Location") ?? back.text)")
                let loginCode = try #require(values["code"])
                let login = try await stack.send(.POST, "/api/auth/exchange", json: ["code": loginCode, "code_verifier": right.verifier])
                #expect(login.status == 200, "\(platform): \(login.text)")
                #expect(try login.json()["discord_id"] == .string(id))

                // A missing or wrong verifier: 400 invalid_grant, and the code is spent.
                for verifier in [nil, pkce().verifier, "short"] {
                    let again = try await startApp(platform: platform, returnURL: returnURL, challenge: right.challenge)
                    let code = "code-\(platform)-\(UUID().uuidString.prefix(8))"
                    fake.approve(code: code, challenge: again.challenge, redirectURI: again.redirectURI, discordId: id, username: "app\(platform)")
                    let backAgain = try await stack.send(.GET, "/api/discord/callback?code=\(code)&state=\(again.state)")
                    let stolen = try #require(fragment(backAgain).values["code"])
                    var body = ["code": stolen]
                    if let verifier { body["code_verifier"] = verifier }
                    let refused = try await stack.send(.POST, "/api/auth/exchange", json: body)
                    #expect(refused.status == 400, "verifier \(verifier ?? "none"): \(refused.text)")
                    #expect(try refused.errorCode() == "invalid_grant")
                    let retried = try await stack.send(.POST, "/api/auth/exchange", json: ["code": stolen, "code_verifier": right.verifier])
                    #expect(retried.status == 401, "a code refused for its verifier was taken again: \(retried.text)")
                }
            }
        }
    }

    @Test func malformedChallengesAre400NamingTheField() async throws {
        let good = pkce().challenge
        for (query, field) in [
            ("code_challenge=short&code_challenge_method=S256", "code_challenge"),
            ("code_challenge=\(String(repeating: "a", count: 129))&code_challenge_method=S256", "code_challenge"),
            ("code_challenge=\(String(good.dropLast(3)))%2B%2F%3D&code_challenge_method=S256", "code_challenge"),
            ("code_challenge=\(good)&code_challenge_method=plain", "code_challenge_method"),
        ] {
            let reply = try await stack.send(.GET, "/api/discord/auth?platform=android&\(query)")
            #expect(reply.status == 400, "\(query): \(reply.text)")
            #expect(reply.text.contains(field), "\(query): \(reply.text)")
        }
    }

    @Test func eachDiscordLoginRefreshesTheDiscordNameAndAvatar() async throws {
        try await fake.run {
            let id = discordId()
            var token = ""
            for (round, (name, avatar)) in [("first-name", "aaaa1111"), ("second-name", "bbbb2222")].enumerated() {
                let started = try await start()
                fake.approve(code: "code-profile-\(round)-\(id)", challenge: started.challenge, redirectURI: started.redirectURI, discordId: id, username: name, avatar: avatar)
                let loginCode = try #require(fragment(try await callback(started, code: "code-profile-\(round)-\(id)")).values["code"])
                token = try #require(try await stack.send(.POST, "/api/auth/exchange", json: ["code": loginCode]).json()["token"]?.stringValue)
                let me = try await stack.send(.GET, "/api/users/me", token: token).json()
                #expect(me["discord_username"] == .string(name), "round \(round): \(me)")
                #expect(me["avatar"] == .string("https://cdn.discordapp.com/avatars/\(id)/\(avatar).png"), "round \(round): \(me)")
            }
            let me = try await stack.send(.GET, "/api/users/me", token: token).json()
            #expect(me["username"]?.stringValue?.hasPrefix("first-name") == true, "the Guildhall name is the member's own, not renamed: \(me)")

            // A Discord-only account sets its first password without a current one, then logs in with it.
            let username = try #require(me["username"]?.stringValue)
            let first = try await stack.send(.POST, "/api/users/me/password", token: token, json: ["new_password": "a first passphrase here"])
            #expect(first.status == 204, "\(first.text)")
            let login = try await stack.send(.POST, "/api/auth/login", json: ["username": username, "password": "a first passphrase here"])
            #expect(login.status == 200, "\(login.text)")
            let again = try await stack.send(.POST, "/api/users/me/password", token: token, json: ["new_password": "a second passphrase"])
            #expect(again.status == 403, "with a password set, the current one is required: \(again.text)")
        }
    }

    @Test func badExchangeBodiesAre400() async throws {
        for body in ["{}", #"{"code": 12}"#, #"{"code": ""}"#, "nope"] {
            let reply = try await stack.send(.POST, "/api/auth/exchange", body: Data(body.utf8))
            #expect(reply.status == 400, "\(body): \(reply.text)")
        }
    }
}
