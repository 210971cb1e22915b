import Foundation
import GuildCore
import GuildTestSupport
import NIOHTTP1
import Testing

@Suite("guildctl: the operator's CLI against the running stack's database")
struct AdminCLITests {
    /// Runs guildctl with `arguments`; returns its exit status and output.
    func guildctl(_ arguments: [String]) async throws -> (status: ChildProcess.Termination?, output: String) {
        let binary = try TestEnvironment.require("GUILDHALL_BIN_DIR") + "/guildctl"
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("guildctl-\(UUID()).log").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let process = try ChildProcess([binary] + arguments + ["--database-url", try TestEnvironment.require("GUILDHALL_STACK_DATABASE_URL")], output: output)
        let status = await process.wait(timeout: .seconds(60))
        return (status, (try? String(contentsOfFile: output, encoding: .utf8)) ?? "")
    }

    @Test func migrateFindsTheRunningStackUpToDate() async throws {
        let (status, output) = try await guildctl(["migrate"])
        #expect(status == .exited(0), "\(output)")
        for service in ["auth", "booking", "tickets", "leveling", "notify"] {
            #expect(output.contains("\(service): up to date"), "\(output)")
        }
    }

    @Test func createAdminMakesAnAccountThatLogsInThroughNginx() async throws {
        let username = "ops-\(UUID().uuidString.prefix(8).lowercased())"
        let password = "correct horse \(UUID().uuidString.prefix(6))"
        let first = try await guildctl(["create-admin", "--username", username, "--password", password])
        #expect(first.status == .exited(0), "\(first.output)")
        #expect(first.output.contains("created"))

        let again = try await guildctl(["create-admin", "--username", username, "--password", "another password"])
        #expect(again.status == .exited(0), "\(again.output)")
        #expect(again.output.contains("nothing changed"))

        let stack = try StackClient()
        let login = try await stack.send(.POST, "/api/auth/login", json: ["username": username, "password": password])
        #expect(login.status == 200, "\(login.text)")
        #expect(try login.json()["role"] == .string("admin"))
        let refused = try await stack.send(.POST, "/api/auth/login", json: ["username": username, "password": "another password"])
        #expect(refused.status == 401, "the second create-admin must not change the password")
    }

    /// A catalogue file holding `tools` (JSON objects, as export writes them).
    func catalogueFile(_ tools: [String]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tools-\(UUID()).json").path
        try Data(#"{"tools": [\#(tools.joined(separator: ","))]}"#.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func theToolCatalogueGoesOutAndComesBackAllOrNothing() async throws {
        let stack = try StackClient()
        let admin = try await stack.adminToken()
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let kept = "cli-kept-\(suffix)", changed = "cli-changed-\(suffix)", added = "cli-added-\(suffix)"
        for id in [kept, changed] {
            let created = try await stack.send(.POST, "/api/leveling/tools", token: admin, raw: #"{"id":"\#(id)","name":"Tool \#(id)","unlock_level":7}"#)
            #expect(created.status == 201, "\(created.text)")
        }

        let exportPath = FileManager.default.temporaryDirectory.appendingPathComponent("tools-\(UUID()).json").path
        defer { try? FileManager.default.removeItem(atPath: exportPath) }
        let export = try await guildctl(["tools", "export", "--output", exportPath])
        #expect(export.status == .exited(0), "\(export.output)")
        let exported = try JSONValue(parsing: String(contentsOfFile: exportPath, encoding: .utf8))
        let entry = exported["tools"]?.array?.first { $0["id"] == .string(kept) }
        #expect(entry?["name"] == .string("Tool \(kept)") && entry?["unlock_level"]?.int == 7 && entry?["active"] == .bool(true), "\(exported)")

        // The exported file imports as it is: nothing changes.
        let again = try await guildctl(["tools", "import", exportPath])
        #expect(again.status == .exited(0) && again.output.contains("0 created, 0 changed"), "\(again.output)")

        // A bad entry after good ones: refused, naming it, and the good ones are not written either.
        let bad = try catalogueFile([
            #"{"id":"\#(added)","name":"Added","unlock_level":3}"#,
            #"{"id":"\#(changed)","name":"Changed","unlock_level":0}"#,
        ])
        defer { try? FileManager.default.removeItem(atPath: bad) }
        let refused = try await guildctl(["tools", "import", bad])
        #expect(refused.status != .exited(0) && refused.output.contains("tools[1].unlock_level"), "\(refused.output)")
        let twice = try catalogueFile([#"{"id":"\#(added)","name":"A","unlock_level":3}"#, #"{"id":"\#(added)","name":"B","unlock_level":4}"#])
        defer { try? FileManager.default.removeItem(atPath: twice) }
        let named = try await guildctl(["tools", "import", twice])
        #expect(named.status != .exited(0) && named.output.contains("named twice"), "\(named.output)")
        var catalogue = try await stack.send(.GET, "/api/leveling/tools").json()["tools"]?.array ?? []
        #expect(!catalogue.contains { $0["id"] == .string(added) }, "nothing of a refused file is written")

        let good = try catalogueFile([
            #"{"id":"\#(added)","name":"Added","description":"new","unlock_level":3}"#,
            #"{"id":"\#(changed)","name":"Changed","unlock_level":9,"active":false}"#,
            #"{"id":"\#(kept)","name":"Tool \#(kept)","description":"","unlock_level":7,"active":true}"#,
        ])
        defer { try? FileManager.default.removeItem(atPath: good) }
        let imported = try await guildctl(["tools", "import", good])
        #expect(imported.status == .exited(0) && imported.output.contains("1 created, 1 changed, 1 unchanged"), "\(imported.output)")
        catalogue = try await stack.send(.GET, "/api/leveling/tools").json()["tools"]?.array ?? []
        let shown = catalogue.first { $0["id"] == .string(added) }
        #expect(shown?["name"] == .string("Added") && shown?["description"] == .string("new") && shown?["unlock_level"]?.int == 3, "\(catalogue)")
        #expect(!catalogue.contains { $0["id"] == .string(changed) }, "a tool imported as inactive is retired")
    }

    @Test func badArgumentsFailWithAMessage() async throws {
        let (status, output) = try await guildctl(["create-admin", "--username", "x"])
        #expect(status != .exited(0))
        #expect(output.contains("password"), "\(output)")
    }
}
