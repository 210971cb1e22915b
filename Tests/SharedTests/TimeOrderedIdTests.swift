import Foundation
import GuildCore
import GuildTestSupport
import Testing

/// Version 7 ids carry the millisecond they were made.
@Suite("Time-ordered ids", .watched)
struct TimeOrderedIdTests {
    @Test func anIdTellsTheMillisecondItWasMadeAndSortsByIt() {
        let date = Date(timeIntervalSince1970: 1_795_000_000.123)
        let id = UUID.timeOrdered(at: date)
        #expect(abs((id.timeOrderedDate?.timeIntervalSince1970 ?? 0) - 1_795_000_000.123) < 0.001)
        #expect(UUID().timeOrderedDate == nil, "a random id carries no time")
        #expect(UUID.timeOrdered(at: date).uuidString < UUID.timeOrdered(at: date.addingTimeInterval(0.002)).uuidString)
    }
}
