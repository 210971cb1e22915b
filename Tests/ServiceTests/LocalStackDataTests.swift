import Foundation
import GuildTestSupport
import Testing

/// What the scripts' PostgreSQL and Redis promise about their data: `scripts/dev` keeps it like
/// production does, only the throwaway servers of `scripts/test` and `scripts/bench` do not.
@Suite("the local stack keeps its data durably")
struct LocalStackDataTests {
    /// Starts the scripts' PostgreSQL and Redis in a folder of their own with `GH_THROWAWAY`
    /// set to `throwaway`, asks each how it keeps data, and stops them.
    func settings(throwaway: Bool) async throws -> String {
        let root = StackDeclarationTests.root.path
        let run = FileManager.default.temporaryDirectory.appendingPathComponent("guildhall-data-\(UUID())").path
        let output = run + ".out"
        defer {
            try? FileManager.default.removeItem(atPath: run)
            try? FileManager.default.removeItem(atPath: output)
        }
        let script = """
            set -euo pipefail
            GH_THROWAWAY=\(throwaway ? 1 : 0)
            source '\(root)/scripts/lib.sh'
            GH_RUN='\(run)'
            mkdir -p "$GH_RUN/logs" "$GH_RUN/pids"
            trap gh_stop_all EXIT
            gh_free_port pg; gh_free_port redis
            gh_start_postgres postgres "$pg"
            gh_start_redis redis "$redis"
            for setting in fsync synchronous_commit full_page_writes; do
                printf '%s=%s\\n' "$setting" "$(psql -h 127.0.0.1 -p "$pg" -U guildhall -d guildhall -Atc "SHOW $setting")"
            done
            printf 'appendonly=%s\\n' "$(redis-cli -p "$redis" config get appendonly | tail -1)"
            """
        let process = try ChildProcess(["/bin/bash", "-c", script], output: output)
        let ended = await process.wait(timeout: .seconds(90))
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        #expect(ended == .exited(0), "\(text)")
        return text
    }

    @Test func theDevelopmentStackKeepsPostgreSQLsDefaultsAndRedissAppendOnlyFile() async throws {
        let text = try await settings(throwaway: false)
        for line in ["fsync=on", "synchronous_commit=on", "full_page_writes=on", "appendonly=yes"] {
            #expect(text.contains(line), "expected \(line): \(text)")
        }
    }

    @Test func onlyThrowawayServersTradeDurabilityForSpeed() async throws {
        let text = try await settings(throwaway: true)
        for line in ["fsync=off", "synchronous_commit=off", "full_page_writes=off", "appendonly=no"] {
            #expect(text.contains(line), "expected \(line): \(text)")
        }
    }
}
