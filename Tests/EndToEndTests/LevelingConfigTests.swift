import Foundation
import GuildCore
import GuildTestSupport
import NIOHTTP1
import Testing

/// Leveling's settings changed through nginx while it runs: in force on both replicas within a
/// second, recorded, and refused field by field. They are the whole community's, so this suite
/// runs alone (scripts/test) and puts them back whatever happens.
@Suite("Through nginx: leveling's settings at run time", .serialized, .watched)
struct LevelingConfigTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    /// What one message earns a new member on `replica`, judged now.
    func messageXP(replica: Int) async throws -> Int? {
        let event = LevelingTests.event(LevelingTests.discordId(), at: Date())
        return try await StackClient.internalPost("leveling", "/internal/leveling/events", event, replica: replica).json()["xp_awarded"]?.int
    }

    /// `document` with `value` at `path` (objects all the way).
    static func setting(_ value: JSONValue, at path: [String], in document: JSONValue) -> JSONValue {
        guard let key = path.first else { return value }
        guard case .object(var members) = document else { return document }
        members[key] = setting(value, at: Array(path.dropFirst()), in: members[key] ?? .object([:]))
        return .object(members)
    }

    @Test func aChangeIsInForceOnBothReplicasWithinASecondAndRecorded() async throws {
        let admin = try await stack.adminToken()
        let before = try await stack.send(.GET, "/api/leveling/config", token: admin)
        #expect(before.status == 200, "\(before.text)")
        let original = try before.json()
        do {
            try await changeAndWatch(admin: admin, original: original)
        } catch {
            _ = try? await stack.send(.PUT, "/api/leveling/config", token: admin, raw: original.jsonText())
            throw error
        }
        let restored = try await stack.send(.PUT, "/api/leveling/config", token: admin, raw: original.jsonText())
        #expect(restored.status == 200, "\(restored.text)")
    }

    func changeAndWatch(admin: String, original: JSONValue) async throws {
        let moderator = try await stack.makeUser(role: "moderator", admin: admin)
        let member = try await stack.makeUser(role: "user", admin: admin)
        #expect(try await stack.send(.GET, "/api/leveling/config", token: moderator.token).json() == original, "staff read the settings")
        #expect(try await stack.send(.GET, "/api/leveling/config", token: member.token).status == 403)
        #expect(try await stack.send(.GET, "/api/leveling/config").status == 401)
        #expect(try await stack.send(.PUT, "/api/leveling/config", token: moderator.token, raw: original.jsonText()).status == 403)

        var changed = Self.setting(.object(["xp": .number(7), "cooldown_seconds": .number(0)]), at: ["sources", "message"], in: original)
        changed = Self.setting(.array([
            .object(["level": .number(40), "add_roles": .array([.string("666666666666666666")]), "remove_roles": .array([])]),
            .object(["level": .number(30), "add_roles": .array([.string("777777777777777777")]), "remove_roles": .array([])]),
        ]), at: ["role_rewards"], in: changed)
        let bad: [(String, String)] = [
            (changed.jsonText().replacingOccurrences(of: #""xp":7"#, with: #""xp":-7"#), "sources.message.xp"),
            (changed.jsonText().replacingOccurrences(of: #""voice":{"#, with: #""chat":{"xp":1},"voice":{"#), "sources.chat"),
            (changed.jsonText().replacingOccurrences(of: "666666666666666666", with: "not-a-role"), "role_rewards[0].add_roles[0]"),
            (changed.jsonText().replacingOccurrences(of: #""level":30"#, with: #""level":40"#), "role_rewards[1].level"),
            (#"{"sources":\#(changed["sources"]!.jsonText()),"role_rewards":[]}"#, "daily"),
        ]
        for (body, field) in bad {
            let refused = try await stack.send(.PUT, "/api/leveling/config", token: admin, raw: body)
            #expect(refused.status == 400, "\(field): \(refused.text)")
            #expect(try refused.json()["error"]?["message"]?.stringValue?.hasPrefix("\(field):") == true, "\(field): \(refused.text)")
        }
        #expect(try await stack.send(.GET, "/api/leveling/config", token: admin).json() == original, "a refused change changed something")
        #expect(try await messageXP(replica: 1) == original["sources"]?["message"]?["xp"]?.int)

        let stored = try await stack.send(.PUT, "/api/leveling/config", token: admin, raw: changed.jsonText())
        #expect(stored.status == 200, "\(stored.text)")
        #expect(try stored.json()["role_rewards"]?.array?.map { $0["level"]?.int } == [30, 40], "sorted by level")
        let changedAt = ContinuousClock.now
        var inForce: [Int: Duration] = [:]
        while inForce.count < 2 && ContinuousClock.now - changedAt < .seconds(5) {
            for replica in [1, 2] where inForce[replica] == nil {
                if try await messageXP(replica: replica) == 7 { inForce[replica] = ContinuousClock.now - changedAt }
            }
        }
        #expect(inForce.count == 2, "in force on replicas \(inForce.keys.sorted()) only")
        #expect(inForce.values.allSatisfy { $0 < .seconds(1) }, "took \(inForce)")

        let adminId = try await stack.send(.GET, "/api/users/me", token: admin).json()["user_id"]
        let history = try await stack.send(.GET, "/api/leveling/config/history?limit=1", token: moderator.token).json()
        let newest = history["items"]?.array?.first
        #expect(newest?["changed_by"] == adminId, "\(history)")
        #expect(try newest?["before"] == original && newest?["after"] == stored.json(), "\(history)")
        #expect(history["items"]?.array?.count == 1, "\(history)")
    }
}
