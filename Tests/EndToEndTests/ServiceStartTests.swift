import Foundation
import GuildTestSupport
import Testing

/// The service executables themselves, started the way an operator starts them.
@Suite("service executables: start-up configuration")
struct ServiceStartTests {
    /// A service given an unusable `EVENT_LOOPS` stops at once, naming it, before it binds anything.
    @Test func aServiceRefusesAnUnusableEventLoopCount() async throws {
        for value in ["0", "many"] {
            let binary = try TestEnvironment.require("GUILDHALL_BIN_DIR") + "/booking"
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("booking-\(UUID()).log").path
            defer { try? FileManager.default.removeItem(atPath: output) }
            let process = try ChildProcess([binary], environment: ["EVENT_LOOPS=\(value)", "PORT=0", "INTERNAL_PORT=0"], output: output)
            let status = await process.wait(timeout: .seconds(30))
            let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
            #expect(status == .exited(1), "EVENT_LOOPS=\(value): \(text)")
            #expect(text.contains("EVENT_LOOPS"), "EVENT_LOOPS=\(value): \(text)")
        }
    }
}
