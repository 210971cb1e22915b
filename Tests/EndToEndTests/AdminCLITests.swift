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

    @Test func badArgumentsFailWithAMessage() async throws {
        let (status, output) = try await guildctl(["create-admin", "--username", "x"])
        #expect(status != .exited(0))
        #expect(output.contains("password"), "\(output)")
    }
}
