import Foundation
import GuildTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A service's tasks run on its event loops, and its log goes to standard error — often a pipe
/// whose reader may fall behind or stop. Logging must never make a request wait for that reader.
@Suite("Logging never holds a request")
struct LoggingTests {
    /// Standard error is a pipe nobody reads: it fills after a few hundred lines (64 KiB), and a
    /// service writing its log from the event loops would stop answering there. Every request
    /// must still be answered, and the service must still stop cleanly.
    @Test func aServiceWhoseStandardErrorNobodyReadsKeepsAnswering() async throws {
        let fifo = FileManager.default.temporaryDirectory.appendingPathComponent("guildhall-unread-\(UUID().uuidString)").path
        #expect(mkfifo(fifo, 0o600) == 0)
        defer { unlink(fifo) }
        // The read end is held open, so the service's writes go into the pipe, and never read.
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        #expect(reader >= 0)
        defer { close(reader) }

        let service = try RunningService(
            "booking", database: try TestEnvironment.databaseURL(), redis: try TestEnvironment.redisURL(), logLevel: "trace", output: fifo
        )
        try await withCleanup {
            #expect(await service.becomesHealthy(within: .seconds(60)), "booking did not become healthy")
            // Each read of the catalogue logs lines of its own (trace: every query): the pipe is full
            // long before the last of them.
            var answered = 0
            // A request held by a blocked event loop is never answered: 10 s is a ceiling, not a measure.
            for _ in 0..<600 {
                guard await service.status(of: "/api/booking/services?fresh=\(UUID())", timeout: .seconds(10)) == 200 else { break }
                answered += 1
            }
            #expect(answered == 600, "request \(answered + 1) of 600 was not answered while standard error was not read")
            var pending: Int32 = 0
            _ = ioctl(reader, UInt(FIONREAD), &pending)
            #expect(pending > 60_000, "the pipe never filled (\(pending) bytes): the test proves nothing")

            service.process.signal(SIGTERM)
            let ended = await service.process.wait(timeout: .seconds(15))
            #expect(ended == .exited(0), "booking after SIGTERM with its standard error unread: \(String(describing: ended))")
        } then: {
            await service.process.stop(grace: .seconds(1))
        }
    }
}
