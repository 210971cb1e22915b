import Foundation
import GuildCore
import GuildTestSupport
import NIOHTTP1
import PostgresNIO
import Testing

/// The ticket desk's settings through nginx: they are the whole desk's, so this suite runs alone
/// (scripts/test), and puts them back whatever happens — the other suites open tickets with them.
@Suite("Through nginx: the ticket desk's settings", .serialized, .watched)
struct TicketDeskSettingsTests {
    let tickets: TicketsTests
    var stack: StackClient { tickets.stack }

    init() throws {
        tickets = try TicketsTests()
    }

    @Test func theDeskSettingsLimitTicketsAndCloseIdleOnesOnce() async throws {
        let admin = try await stack.adminToken()
        let before = try await stack.send(.GET, "/api/tickets/config", token: admin).json()
        #expect(before["categories"]?.array?.contains(.string("support")) == true)
        // Put the settings back whatever happens: other tests open tickets with the defaults.
        let restore = #"{"max_open_per_user":\#(before["max_open_per_user"]?.int ?? 3),"auto_close_hours":\#(before["auto_close_hours"]?.int ?? 72),"categories":["support","billing","technical","other"],"enabled":true,"transcript_enabled":true}"#
        do {
            try await changeSettingsAndWatchThem(admin: admin, before: before)
        } catch {
            _ = try? await stack.send(.PUT, "/api/tickets/config", token: admin, raw: restore)
            throw error
        }
        #expect(try await stack.send(.PUT, "/api/tickets/config", token: admin, raw: restore).status == 200)
    }

    func changeSettingsAndWatchThem(admin: String, before: JSONValue) async throws {
        for bad in [#"{}"#, #"{"max_open_per_user":0}"#, #"{"auto_close_hours":-1}"#, #"{"categories":[]}"#, #"{"categories":["a","a"]}"#, #"{"categories":["Bad Name"]}"#] {
            let reply = try await stack.send(.PUT, "/api/tickets/config", token: admin, raw: bad)
            #expect(reply.status == 400, "\(bad) → \(reply.text)")
        }
        #expect(try await stack.send(.GET, "/api/tickets/config", token: admin).json() == before, "refused changes change nothing")

        let changed = try await stack.send(.PUT, "/api/tickets/config", token: admin, raw: #"{"max_open_per_user":2,"categories":["support","billing","technical","other","bots"],"transcript_enabled":false,"auto_close_hours":1}"#)
        #expect(changed.status == 200, "\(changed.text)")
        #expect(try changed.json()["max_open_per_user"]?.int == 2)

        // Past the limit: 422, nothing stored; a new category is accepted.
        let user = try await stack.makeUser(role: "user", admin: admin)
        let idle = try #require(try await tickets.open(user.token, category: "bots")["ticket_id"]?.stringValue)
        let later = try #require(try await tickets.open(user.token)["ticket_id"]?.stringValue)
        let third = try await stack.send(.POST, "/api/tickets", token: user.token, json: ["subject": "third", "category": "support", "message": "x"])
        #expect(third.status == 422, "\(third.text)")
        #expect(try third.errorCode() == "too_many_open_tickets")
        #expect(try await stack.send(.GET, "/api/tickets", token: user.token).json()["tickets"]?.array?.count == 2)
        #expect(try await stack.send(.GET, "/api/tickets/\(idle)/transcript", token: user.token).status == 403)

        // Idle for longer than auto_close_hours: closed once, with a closing message and one event.
        func leaveIdle(_ ticket: String) async throws {
            let id = try #require(UUID(uuidString: ticket))
            try await withStackDatabase(schema: "tickets") { postgres in
                _ = try await postgres.query("UPDATE tickets SET last_activity_at = now() - interval '2 hours' WHERE id = \(id)", logger: e2eLogger)
            }
        }
        func closedByTheJob(_ ticket: String) async throws -> Bool {
            try await eventually(timeout: .seconds(60)) {
                try await stack.send(.GET, "/api/tickets/\(ticket)", token: user.token).json()["ticket"]?["status"] == .string("closed")
            }
        }
        try await leaveIdle(idle)
        #expect(try await closedByTheJob(idle), "the idle ticket was not closed")
        // The marker: the user's other ticket, left idle only now, is closed by a later round of
        // the job (whichever replica runs it); a second closing of the first would have come in
        // that round or before it.
        try await leaveIdle(later)
        #expect(try await closedByTheJob(later), "the ticket left idle later was not closed")
        let page = try await stack.send(.GET, "/api/tickets/\(idle)", token: user.token).json()
        let system = page["messages"]?.array?.filter { $0["author_id"] == .null } ?? []
        #expect(system.count == 1, "\(page)")
        #expect(system.first?["author_name"] == .string("System"))
        #expect(try await tickets.events("tickets.closed", ticket: idle) == 1)
    }
}
