import Foundation
import GuildCore
import GuildTestSupport
import NIOHTTP1
import Testing

/// Through nginx: the refresh token as the `guildhall_refresh` cookie, as the console uses it.
@Suite("Through nginx: the refresh cookie of web apps")
struct RefreshCookieTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    /// The cookies a reply sets, by name: the value and the attributes as written.
    func cookies(_ reply: StackClient.Reply) -> [String: (value: String, attributes: Set<String>)] {
        var found: [String: (value: String, attributes: Set<String>)] = [:]
        for line in reply.headers["Set-Cookie"] {
            let parts = line.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let first = parts.first, let equals = first.firstIndex(of: "=") else { continue }
            found[String(first[..<equals])] = (String(first[first.index(after: equals)...]), Set(parts.dropFirst().map { $0.lowercased() }))
        }
        return found
    }

    func refresh(cookie: String?, marker: Bool = true, body: String = "{}") async throws -> StackClient.Reply {
        var headers: [(String, String)] = []
        if let cookie { headers.append(("Cookie", "guildhall_refresh=\(cookie); guildhall_signed_in=1")) }
        if marker { headers.append(("X-Requested-With", "guildhall-console")) }
        return try await stack.send(.POST, "/api/auth/refresh", headers: headers, raw: body)
    }

    @Test("a login that asks for the cookie gets the refresh token only there; refresh rotates it; logout clears it")
    func cookieLifecycle() async throws {
        let admin = try await stack.adminToken()
        let user = try await stack.makeUser(role: "user", admin: admin)
        let login = try await stack.send(
            .POST, "/api/auth/login", headers: [],
            raw: #"{"username":"\#(user.name)","password":"password-\#(user.name)","refresh_cookie":true}"#
        )
        #expect(login.status == 200, "\(login.text)")
        #expect(try login.json()["refresh_token"] == .null, "the body holds no refresh token: \(login.text)")
        #expect(try login.json()["token"]?.stringValue?.isEmpty == false)
        let set = cookies(login)
        let refresh = try #require(set["guildhall_refresh"], "\(login.headers)")
        #expect(refresh.attributes.isSuperset(of: ["httponly", "secure", "samesite=strict", "path=/api/auth"]), "\(refresh.attributes)")
        #expect(refresh.attributes.contains("max-age=2592000"), "\(refresh.attributes)")
        let hint = try #require(set["guildhall_signed_in"], "\(login.headers)")
        #expect(hint.value == "1" && !hint.attributes.contains("httponly") && hint.attributes.contains("path=/"), "\(hint.attributes)")

        // Without the custom header the cookie is not used (a cross-site form cannot add it).
        let unmarked = try await self.refresh(cookie: refresh.value, marker: false)
        #expect(unmarked.status == 401 && unmarked.text.contains("X-Requested-With"), "\(unmarked.text)")
        // Neither a missing cookie nor a wrong one passes.
        #expect(try await self.refresh(cookie: nil).status == 401)
        #expect(try await self.refresh(cookie: "not-a-token").status == 401)

        let rotated = try await self.refresh(cookie: refresh.value)
        #expect(rotated.status == 200, "\(rotated.text)")
        #expect(try rotated.json()["refresh_token"] == .null, "\(rotated.text)")
        let next = try #require(cookies(rotated)["guildhall_refresh"], "\(rotated.headers)")
        #expect(next.value != refresh.value)
        let token = try #require(try rotated.json()["token"]?.stringValue)
        #expect(try await stack.send(.GET, "/api/users/me", token: token).json()["username"]?.stringValue == user.name)

        // The new cookie refreshes in turn.
        let again = try await self.refresh(cookie: next.value)
        #expect(again.status == 200, "\(again.text)")
        let latest = try #require(cookies(again)["guildhall_refresh"])
        let latestToken = try #require(try again.json()["token"]?.stringValue)

        let logout = try await stack.send(
            .POST, "/api/auth/logout", token: latestToken, headers: [("Cookie", "guildhall_refresh=\(latest.value); guildhall_signed_in=1")], raw: ""
        )
        #expect(logout.status == 200, "\(logout.text)")
        let cleared = cookies(logout)
        #expect(cleared["guildhall_refresh"]?.value == "" && cleared["guildhall_refresh"]?.attributes.contains("max-age=0") == true, "\(logout.headers)")
        #expect(cleared["guildhall_signed_in"]?.value == "" && cleared["guildhall_signed_in"]?.attributes.contains("max-age=0") == true, "\(logout.headers)")
        // The session is over: its cookie refreshes nothing.
        #expect(try await self.refresh(cookie: latest.value).status == 401)
    }

    @Test("a login without the cookie answers the refresh token in the body and sets no refresh cookie")
    func bodyLogin() async throws {
        let admin = try await stack.adminToken()
        let user = try await stack.makeUser(role: "user", admin: admin)
        let login = try await stack.send(.POST, "/api/auth/login", json: ["username": user.name, "password": "password-\(user.name)"])
        #expect(login.status == 200)
        #expect(try login.json()["refresh_token"]?.stringValue?.isEmpty == false)
        #expect(cookies(login)["guildhall_refresh"] == nil && cookies(login)["guildhall_signed_in"] == nil, "\(login.headers)")
        // A logout without cookies clears none.
        let logout = try await stack.send(.POST, "/api/auth/logout", token: try #require(try login.json()["token"]?.stringValue), headers: [], raw: "")
        #expect(logout.status == 200 && cookies(logout).isEmpty, "\(logout.headers)")
    }

    @Test("the console is served at / with its security headers; its files revalidate by ETag")
    func consoleServed() async throws {
        let page = try await stack.send(.GET, "/", headers: [], raw: "")
        #expect(page.status == 200 && page.text.contains(#"<script type="module" src="/console/js/app.js">"#), "\(page.text.prefix(200))")
        #expect(page.headers.first(name: "Content-Type")?.hasPrefix("text/html") == true)
        let policy = page.headers.first(name: "Content-Security-Policy") ?? ""
        #expect(policy.contains("script-src 'self'") && policy.contains("frame-ancestors 'none'") && !policy.contains("unsafe"), "\(policy)")
        #expect(page.headers.first(name: "Cache-Control") == "no-cache")
        let script = try await stack.send(.GET, "/console/js/app.js", headers: [], raw: "")
        #expect(script.status == 200 && script.headers.first(name: "Content-Type")?.hasPrefix("text/javascript") == true)
        let etag = try #require(script.headers.first(name: "ETag"))
        let revalidated = try await stack.send(.GET, "/console/js/app.js", headers: [("If-None-Match", etag)], raw: "")
        #expect(revalidated.status == 304)
        // What is not the console is not served as it: an unknown path is the API's JSON 404.
        let missing = try await stack.send(.GET, "/console/no-such-file.js", headers: [], raw: "")
        #expect(missing.status == 404)
        let elsewhere = try await stack.send(.GET, "/no-such-page", headers: [], raw: "")
        #expect(elsewhere.status == 404 && elsewhere.text.contains(#""code":"not_found""#), "\(elsewhere.text)")
    }
}
