import Foundation
import GuildTestSupport
import Testing

/// The service executables themselves, started the way an operator starts them.
@Suite("service executables: start-up configuration")
struct ServiceStartTests {
    /// A service given an unusable `EVENT_LOOPS`, `SHUTDOWN_GRACE_SECONDS` or `METRICS_PORT` stops
    /// at once, naming it, before it binds anything.
    @Test(arguments: [("EVENT_LOOPS", "0"), ("EVENT_LOOPS", "many"), ("SHUTDOWN_GRACE_SECONDS", "0"), ("SHUTDOWN_GRACE_SECONDS", "soon"), ("METRICS_PORT", "70000"), ("METRICS_PORT", "0")])
    func aServiceRefusesAnUnusableSetting(name: String, value: String) async throws {
        let binary = try TestEnvironment.require("GUILDHALL_BIN_DIR") + "/booking"
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("booking-\(UUID()).log").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let process = try ChildProcess([binary], environment: ["\(name)=\(value)", "PORT=0", "INTERNAL_PORT=0"], output: output)
        let status = await process.wait(timeout: .seconds(30))
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        #expect(status == .exited(1), "\(name)=\(value): \(text)")
        #expect(text.contains(name), "\(name)=\(value): \(text)")
    }
}
