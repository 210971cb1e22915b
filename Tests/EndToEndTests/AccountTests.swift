import Foundation
import GuildCore
import GuildTestSupport
import Testing

/// Through nginx: what members change of their own account (the name; the password, also the
/// first one of an account that signed up with Discord).
@Suite("Through nginx: members manage their own account", .watched)
struct AccountTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    @Test func aMemberRenamesThemselvesWithinTheRulesAndNotIntoAnotherName() async throws {
        let admin = try await stack.adminToken()
        let user = try await stack.makeUser(role: "user", admin: admin)
        let other = try await stack.makeUser(role: "user", admin: admin)
        let wanted = StackClient.unique("renamed")
        let renamed = try await stack.send(.PATCH, "/api/users/me", token: user.token, json: ["username": "  \(wanted)  "])
        #expect(renamed.status == 200, "\(renamed.text)")
        #expect(try renamed.json()["username"] == .string(wanted))
        #expect(try renamed.json()["user_id"] == .string(user.id))
        #expect(try await stack.send(.GET, "/api/users/me", token: user.token).json()["username"] == .string(wanted), "the token goes on after a rename")
        let login = try await stack.send(.POST, "/api/auth/login", json: ["username": wanted, "password": "password-\(user.name)"])
        #expect(login.status == 200, "the new name does not log in: \(login.text)")
        // As the HazeBot app reads a login: `user` is the username, the account is `account`.
        #expect(try login.json()["user"] == .string(wanted))
        #expect(try login.json()["account"]?["user_id"] == .string(user.id))
        #expect(try login.json()["account"]?["username"] == .string(wanted))

        let taken = try await stack.send(.PATCH, "/api/users/me", token: user.token, json: ["username": other.name.uppercased()])
        #expect(taken.status == 409, "\(taken.text)")
        #expect(try taken.errorCode() == "username_taken")
        for bad in ["ab", String(repeating: "x", count: 33), "has space", "semi;colon", ""] {
            let refused = try await stack.send(.PATCH, "/api/users/me", token: user.token, json: ["username": bad])
            #expect(refused.status == 400, "\(bad): \(refused.text)")
            #expect(refused.text.contains("username"))
        }
        for body in [#"{}"#, #"{"username":7}"#, #"{"username":"fine-name","role":"admin"}"#] {
            let refused = try await stack.send(.PATCH, "/api/users/me", token: user.token, raw: body)
            #expect(refused.status == 400, "\(body): \(refused.text)")
        }
        // Nothing of that changed the name, nor the role.
        let me = try await stack.send(.GET, "/api/users/me", token: user.token).json()
        #expect(me["username"] == .string(wanted))
        #expect(me["role"] == .string("user"))
        #expect(try await stack.send(.PATCH, "/api/users/me", json: ["username": "anonymous-x"]).status == 401)
    }

    @Test func aLongPassphraseCountsToItsLastCharacter() async throws {
        let admin = try await stack.adminToken()
        let user = try await stack.makeUser(role: "user", admin: admin)
        // 100 characters that share their first 80: bcrypt alone would read only 72 bytes of them.
        let base = String(repeating: "correct horse battery staple ", count: 3).prefix(80)
        let first = base + String(repeating: "a", count: 20)
        let second = base + String(repeating: "b", count: 20)
        let changed = try await stack.send(
            .POST, "/api/users/me/password", token: user.token, json: ["current_password": "password-\(user.name)", "new_password": String(first)]
        )
        #expect(changed.status == 204, "\(changed.text)")
        let right = try await stack.send(.POST, "/api/auth/login", json: ["username": user.name, "password": String(first)])
        #expect(right.status == 200, "\(right.text)")
        let wrong = try await stack.send(.POST, "/api/auth/login", json: ["username": user.name, "password": String(second)])
        #expect(wrong.status == 401, "a password that differs after its 72nd byte logged in: \(wrong.text)")
        let tooLong = try await stack.send(.POST, "/api/auth/login", json: ["username": user.name, "password": String(repeating: "x", count: 129)])
        #expect(tooLong.status == 400)
    }
}
