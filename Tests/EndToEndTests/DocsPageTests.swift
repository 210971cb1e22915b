import Foundation
import GuildTestSupport
import Testing

/// `/docs` (the contract in Swagger UI) and `/openapi.yaml` through nginx, without a token;
/// the page is rendered by headless Chromium (`GUILDHALL_CHROMIUM`, installed by scripts/test)
/// and must list every operation of openapi.yaml.
@Suite("Through nginx: the contract at /openapi.yaml and /docs")
struct DocsPageTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    /// The working tree's openapi.yaml.
    static func contract() throws -> String {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return try String(contentsOf: root.appendingPathComponent("openapi.yaml"), encoding: .utf8)
    }

    /// The `operationId`s of the contract.
    static func operationIds(in contract: String) -> [String] {
        contract.split(separator: "\n").compactMap { line in
            let text = line.trimmingCharacters(in: .whitespaces)
            guard text.hasPrefix("operationId:") else { return nil }
            return text.dropFirst("operationId:".count).trimmingCharacters(in: .whitespaces)
        }
    }

    @Test func theContractIsServedAsItIs() async throws {
        let reply = try await stack.send(.GET, "/openapi.yaml")
        #expect(reply.status == 200)
        #expect(reply.headers.first(name: "Content-Type")?.hasPrefix("application/yaml") == true)
        #expect(reply.text == (try Self.contract()))
    }

    @Test func theDocsPageAndItsViewerAreServed() async throws {
        let page = try await stack.send(.GET, "/docs")
        #expect(page.status == 200)
        #expect(page.headers.first(name: "Content-Type")?.hasPrefix("text/html") == true)
        #expect(page.text.contains("/openapi.yaml"))
        let script = try await stack.send(.GET, "/docs/swagger-ui-bundle.js")
        #expect(script.status == 200)
        #expect(script.headers.first(name: "Content-Type")?.hasPrefix("application/javascript") == true)
        #expect(script.body.count > 100_000)
        let css = try await stack.send(.GET, "/docs/swagger-ui.css")
        #expect(css.status == 200)
        #expect(css.headers.first(name: "Content-Type")?.hasPrefix("text/css") == true)
        let missing = try await stack.send(.GET, "/docs/no-such-file.js")
        #expect(missing.status == 404)
        #expect(try missing.errorCode() == "not_found")
    }

    @Test func aBrowserRendersEveryOperationOfTheContract() async throws {
        let chromium = try TestEnvironment.require("GUILDHALL_CHROMIUM")
        let expected = Self.operationIds(in: try Self.contract())
        try #require(expected.count >= 10, "openapi.yaml lists \(expected.count) operations")

        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("guildhall-docs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("dom.html").path
        let browser = try ChildProcess(
            [
                chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--user-data-dir=\(folder.appendingPathComponent("profile").path)", "--virtual-time-budget=30000", "--dump-dom",
                stack.baseURL + "/docs",
            ],
            output: output
        )
        guard case .exited(0) = await browser.wait(timeout: .seconds(120)) else {
            await browser.stop(grace: .seconds(2))
            Issue.record("chromium did not render /docs: \((try? String(contentsOfFile: output, encoding: .utf8)) ?? "")")
            return
        }
        let dom = try String(contentsOfFile: output, encoding: .utf8)
        // Swagger UI writes each operation's id into its summary line.
        let rendered = Set(
            dom.components(separatedBy: "opblock-summary-operation-id\">").dropFirst().compactMap { $0.split(separator: "<").first.map(String.init) }
        )
        let missing = expected.filter { !rendered.contains($0) }
        #expect(missing.isEmpty, "operations of openapi.yaml not on the rendered /docs page: \(missing.prefix(20))")
        #expect(dom.contains("Guildhall"), "the contract's title")
        #expect(!dom.contains("errors-wrapper"), "Swagger UI reported errors in the contract")
    }
}
