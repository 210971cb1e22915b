import Foundation
import GuildCore
import GuildPostgres
import GuildTestSupport
import NIOHTTP1
import Testing

@Suite("Through nginx: users — who may list, create, change and disable them", .watched)
struct UserAdminTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    func unique(_ prefix: String) -> String { StackClient.unique(prefix) }

    func makeUser(role: String, admin: String) async throws -> StackClient.TestUser {
        try await stack.makeUser(role: role, admin: admin)
    }

    func status(_ method: HTTPMethod, _ path: String, _ token: String, json: [String: String]? = nil) async throws -> Int {
        if let json { return try await stack.send(method, path, token: token, json: json).status }
        return try await stack.send(method, path, token: token).status
    }

    @Test func roleRulesHoldOnEveryUsersRoute() async throws {
        let admin = try await stack.adminToken()
        let user = try await makeUser(role: "user", admin: admin)
        let moderator = try await makeUser(role: "moderator", admin: admin)

        // A user: own profile only.
        #expect(try await status(.GET, "/api/users/me", user.token) == 200)
        #expect(try await status(.GET, "/api/users", user.token) == 403)
        #expect(try await status(.GET, "/api/users/\(moderator.id)", user.token) == 403)
        #expect(try await status(.POST, "/api/users", user.token, json: ["username": unique("x"), "password": "password1", "role": "admin"]) == 403)
        #expect(try await status(.PATCH, "/api/users/\(user.id)", user.token, json: ["role": "admin"]) == 403)
        #expect(try await status(.GET, "/api/auth/active-sessions", user.token) == 403)

        // A moderator: reads users, changes nothing.
        #expect(try await status(.GET, "/api/users/\(user.id)", moderator.token) == 200)
        let search = try await stack.send(.GET, "/api/users?q=\(user.name)", token: moderator.token)
        #expect(search.status == 200, "\(search.text)")
        guard case .array(let found)? = try search.json()["items"] else { Issue.record("no items"); return }
        #expect(found.map { $0["user_id"] } == [.string(user.id)])
        #expect(try await status(.POST, "/api/users", moderator.token, json: ["username": unique("x"), "password": "password1", "role": "user"]) == 403)
        #expect(try await status(.PATCH, "/api/users/\(user.id)", moderator.token, json: ["role": "moderator"]) == 403)
        #expect(try await status(.GET, "/api/auth/active-sessions", moderator.token) == 403)

        // Nobody sees what does not exist.
        #expect(try await status(.GET, "/api/users/\(UUID().uuidString.lowercased())", admin) == 404)
        #expect(try await status(.GET, "/api/users/not-an-id", admin) == 404)
        #expect(try await status(.PATCH, "/api/users/\(UUID().uuidString.lowercased())", admin, json: ["role": "user"]) == 404)
    }

    /// A retry of a user's creation with its `Idempotency-Key` (say, after its answer was lost)
    /// answers the user made, and makes no second one; the key with another request is a 422.
    @Test func aRetryWithItsKeyAnswersTheUserMadeOnce() async throws {
        let admin = try await stack.adminToken()
        let name = unique("key")
        let key = [("Idempotency-Key", "create-\(name)")]
        let body = #"{"username":"\#(name)","password":"password1","role":"user"}"#
        let first = try await stack.send(.POST, "/api/users", token: admin, headers: key, raw: body)
        #expect(first.status == 201, "\(first.text)")
        let again = try await stack.send(.POST, "/api/users", token: admin, headers: key, raw: body)
        #expect(again.status == 201, "\(again.text)")
        #expect(again.headers.first(name: "Idempotent-Replayed") == "true")
        #expect(try again.json()["user_id"] == first.json()["user_id"])
        let other = try await stack.send(.POST, "/api/users", token: admin, headers: key, raw: #"{"username":"\#(name)","password":"password2","role":"user"}"#)
        #expect(other.status == 422, "\(other.text)")
        #expect(try other.errorCode() == "idempotency_key_reused")
        let count = try await withStackDatabase(schema: "auth") { client in
            try await client.query("SELECT count(*)::int FROM users WHERE lower(username) = lower(\(name))", logger: e2eLogger).decode(Int.self).first { _ in true }
        }
        #expect(count == 1)
    }

    @Test func badUserInputIs400AndDuplicatesAre409() async throws {
        let admin = try await stack.adminToken()
        let name = unique("dup")
        #expect(try await status(.POST, "/api/users", admin, json: ["username": name, "password": "password1", "role": "user"]) == 201)
        let duplicate = try await stack.send(.POST, "/api/users", token: admin, json: ["username": name.uppercased(), "password": "password1", "role": "user"])
        #expect(duplicate.status == 409, "\(duplicate.text)")
        #expect(try duplicate.errorCode() == "username_taken")
        for (body, field) in [
            (["username": "a", "password": "password1", "role": "user"], "username"),
            (["username": unique("ok"), "password": "short", "role": "user"], "password"),
            (["username": unique("ok"), "password": "password1", "role": "emperor"], "role"),
            (["username": unique("ok"), "password": "password1"], "role"),
        ] {
            let reply = try await stack.send(.POST, "/api/users", token: admin, json: body)
            #expect(reply.status == 400, "\(body): \(reply.text)")
            #expect(reply.text.contains(field), "\(reply.text)")
        }
        let empty = try await stack.send(.PATCH, "/api/users/\(UUID().uuidString.lowercased())", token: admin, body: Data("{}".utf8))
        #expect(empty.status == 400)
    }

    @Test func disablingAUserEndsTheirSessionsEverywhereAndEnablingLetsThemBack() async throws {
        let admin = try await stack.adminToken()
        let user = try await makeUser(role: "user", admin: admin)
        let disabled = try await stack.send(.PATCH, "/api/users/\(user.id)", token: admin, body: Data(#"{"disabled": true}"#.utf8))
        #expect(disabled.status == 200, "\(disabled.text)")
        #expect(try disabled.json()["disabled"] == .bool(true))
        let refused = await eventually(timeout: .seconds(1), every: .milliseconds(20)) {
            var statuses: [Int] = []
            for _ in 0..<4 { statuses.append((try? await status(.GET, "/api/users/me", user.token)) ?? 0) }
            return statuses.allSatisfy { $0 == 401 }
        }
        #expect(refused)
        let login = try await stack.send(.POST, "/api/auth/login", json: ["username": user.name, "password": "password-\(user.name)"])
        #expect(login.status == 403)
        #expect(try login.errorCode() == "account_disabled")
        #expect(try await stack.send(.POST, "/api/auth/refresh", json: ["refresh_token": user.refresh]).status == 401)

        let enabled = try await stack.send(.PATCH, "/api/users/\(user.id)", token: admin, body: Data(#"{"disabled": false}"#.utf8))
        #expect(enabled.status == 200)
        let again = try await stack.send(.POST, "/api/auth/login", json: ["username": user.name, "password": "password-\(user.name)"])
        #expect(again.status == 200)
        let token = try again.json()["token"]?.stringValue ?? ""
        let accepted = await eventually(timeout: .seconds(1), every: .milliseconds(20)) {
            var statuses: [Int] = []
            for _ in 0..<4 { statuses.append((try? await status(.GET, "/api/users/me", token)) ?? 0) }
            return statuses.allSatisfy { $0 == 200 }
        }
        #expect(accepted, "a re-enabled user's new token is refused by some replica")
        #expect(try await status(.GET, "/api/users/me", user.token) == 401, "the sessions ended by disabling stay ended")
    }

    @Test func aRoleChangeAppliesFromTheNextLogin() async throws {
        let admin = try await stack.adminToken()
        let user = try await makeUser(role: "user", admin: admin)
        let promoted = try await stack.send(.PATCH, "/api/users/\(user.id)", token: admin, body: Data(#"{"role": "moderator"}"#.utf8))
        #expect(promoted.status == 200, "\(promoted.text)")
        #expect(try promoted.json()["role"] == .string("moderator"))
        let oldTokenRefused = await eventually(timeout: .seconds(1), every: .milliseconds(20)) {
            (try? await status(.GET, "/api/users/me", user.token)) == 401
        }
        #expect(oldTokenRefused)
        let login = try await stack.send(.POST, "/api/auth/login", json: ["username": user.name, "password": "password-\(user.name)"])
        #expect(try login.json()["role"] == .string("moderator"))
    }

    @Test func discordLinksAreStringsAndUnique() async throws {
        let admin = try await stack.adminToken()
        let first = try await makeUser(role: "user", admin: admin)
        let second = try await makeUser(role: "user", admin: admin)
        let discordId = String(UInt64.random(in: 100_000_000_000_000_000...999_999_999_999_999_999))
        let linked = try await stack.send(.PATCH, "/api/users/\(first.id)", token: admin, json: ["discord_id": discordId])
        #expect(linked.status == 200, "\(linked.text)")
        #expect(try linked.json()["discord_id"] == .string(discordId))
        let taken = try await stack.send(.PATCH, "/api/users/\(second.id)", token: admin, json: ["discord_id": discordId])
        #expect(taken.status == 409, "\(taken.text)")
        let number = try await stack.send(.PATCH, "/api/users/\(second.id)", token: admin, body: Data(#"{"discord_id": 123456789012345678}"#.utf8))
        #expect(number.status == 400, "\(number.text)")
        let short = try await stack.send(.PATCH, "/api/users/\(second.id)", token: admin, json: ["discord_id": "12"])
        #expect(short.status == 400)
        let unlinked = try await stack.send(.PATCH, "/api/users/\(first.id)", token: admin, body: Data(#"{"discord_id": null}"#.utf8))
        #expect(unlinked.status == 200)
        #expect(try unlinked.json()["discord_id"] == .null)
    }

    @Test func anAdminCannotLockThemselvesOut() async throws {
        let admin = try await stack.adminToken()
        let me = try await stack.send(.GET, "/api/users/me", token: admin)
        let id = try me.json()["user_id"]?.stringValue ?? ""
        let reply = try await stack.send(.PATCH, "/api/users/\(id)", token: admin, body: Data(#"{"disabled": true}"#.utf8))
        #expect(reply.status == 409)
        #expect(try await status(.GET, "/api/users/me", admin) == 200)
    }

    @Test func theUserListIsPaginated() async throws {
        let admin = try await stack.adminToken()
        _ = try await makeUser(role: "user", admin: admin)
        _ = try await makeUser(role: "user", admin: admin)
        let first = try await stack.send(.GET, "/api/users?limit=1", token: admin)
        #expect(first.status == 200)
        guard let cursor = try first.json()["next_cursor"]?.stringValue else { Issue.record("no next_cursor: \(first.text)"); return }
        let second = try await stack.send(.GET, "/api/users?limit=1&cursor=\(cursor)", token: admin)
        #expect(second.status == 200)
        #expect(try first.json()["items"] != second.json()["items"])
        #expect(try await status(.GET, "/api/users?limit=0", admin) == 400)
        #expect(try await status(.GET, "/api/users?cursor=bogus", admin) == 400)
    }
}
