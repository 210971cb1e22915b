import Foundation
import GuildCore
import HTTPTypes
import HummingbirdTesting
import Testing
import TicketsService

/// tickets' HTTP routes through its router, in-process (``RouterHarness``: a real auth, whose
/// private listener names the authors, the test PostgreSQL, a Redis of the test's own). The desk's
/// settings are only read here: changing them is ``TicketDeskSettingsTests``', alone.
@Suite("tickets: its HTTP routes (open, take part, staff actions, settings)", .serialized)
struct TicketsRouterTests: RouterSuite {
    /// Runs `body` with tickets' router and the harness's callers.
    func withTickets(_ body: @Sendable (any TestClientProtocol, Callers) async throws -> Void) async throws {
        try await RouterHarness.withService({ try await TicketsService.buildApplication(reader: $0.reader()) }, readyAt: "/api/tickets", body)
    }

    /// Opens a ticket as the member; its id.
    private static func open(_ client: any TestClientProtocol, _ callers: Callers, subject: String = "My VM does not start") async throws -> String {
        let opened = try await call(
            client, .post, "/api/tickets", token: callers.member,
            json: #"{"subject":"  \#(subject)  ","category":"technical","message":"It hangs at boot."}"#
        )
        #expect(opened.status == .created, "\(opened.text)")
        #expect(opened.body?["subject"]?.stringValue == subject, "the subject is trimmed: \(opened.text)")
        #expect(opened.body?["user_id"]?.stringValue == callers.memberId)
        #expect(opened.body?["status"]?.stringValue == "open")
        return try #require(opened.body?["ticket_id"]?.stringValue)
    }

    @Test func aMemberOpensAndTakesPartInTheirOwnTicketAndRefusedInputStoresNothing() async throws {
        try await withTickets { client, callers in
            #expect(try await Self.call(client, .get, "/api/tickets").status == .unauthorized)
            #expect(try await Self.call(client, .post, "/api/tickets", json: #"{"subject":"s","category":"support","message":"m"}"#).status == .unauthorized)
            for (body, field) in [
                (#"{"subject":"","category":"support","message":"m"}"#, "subject"), (#"{"subject":"s","category":"support","message":"  "}"#, "message"),
                (#"{"subject":"s","category":"Not A Name","message":"m"}"#, "category"), (#"{"subject":"s","category":"nope","message":"m"}"#, "category"),
                (#"{"subject":"s","category":"support"}"#, "message"), (#"{"subject":"s","category":"support","message":"m","colour":"red"}"#, "colour"),
            ] {
                let refused = try await Self.call(client, .post, "/api/tickets", token: callers.member, json: body)
                #expect(refused.status == .badRequest, "\(body): \(refused.text)")
                #expect(refused.text.contains(field), "\(body): \(refused.text)")
            }
            let none = try await Self.call(client, .get, "/api/tickets", token: callers.member)
            #expect(none.body?["tickets"] == .array([]), "a refused ticket was stored: \(none.text)")

            let id = try await Self.open(client, callers)
            let sent = try await Self.call(client, .post, "/api/tickets/\(id)/send", token: callers.member, json: #"{"message":"Still down.","client_message_id":"retry-1"}"#)
            #expect(sent.status == .ok, "\(sent.text)")
            let again = try await Self.call(client, .post, "/api/tickets/\(id)/send", token: callers.member, json: #"{"message":"Still down.","client_message_id":"retry-1"}"#)
            #expect(again.body?["message"]?["id"] == sent.body?["message"]?["id"], "a retry posted twice")
            let page = try await Self.call(client, .get, "/api/tickets/\(id)", token: callers.member)
            #expect(page.body?["messages"]?.elements?.count == 2, "\(page.text)")
            #expect(page.body?["messages"]?.elements?.first?["author_name"] != .null, "the author is named from auth: \(page.text)")

            for path in ["/api/tickets/not-a-uuid", "/api/tickets/\(UUID().uuidString)"] {
                #expect(try await Self.call(client, .get, path, token: callers.member).status == .notFound)
            }
            let listed = try await Self.call(client, .get, "/api/tickets?status=open", token: callers.member)
            #expect(listed.body?["tickets"]?.elements?.map { $0["ticket_id"] } == [.string(id)], "\(listed.text)")
            #expect(try await Self.call(client, .get, "/api/tickets?status=pending", token: callers.member).status == .badRequest)
        }
    }

    @Test func staffClaimAndAnswerAnyTicketWhileOnlyAdminsDelete() async throws {
        try await withTickets { client, callers in
            let id = try await Self.open(client, callers, subject: "Billing question")
            let claimedByMember = try await Self.call(client, .post, "/api/tickets/\(id)/claim", token: callers.member)
            #expect(claimedByMember.status == .forbidden, "\(claimedByMember.text)")
            let claimed = try await Self.call(client, .post, "/api/tickets/\(id)/claim", token: callers.moderator)
            #expect(claimed.status == .ok, "\(claimed.text)")
            #expect(claimed.body?["claimed_by"] != .null)
            let staffList = try await Self.call(client, .get, "/api/tickets?status=open", token: callers.moderator)
            #expect(staffList.body?["tickets"]?.elements?.contains { $0["ticket_id"] == .string(id) } == true, "staff see everyone's")
            #expect(try await Self.call(client, .post, "/api/tickets/\(id)/send", token: callers.moderator, json: #"{"message":"On it."}"#).status == .ok)
            let unread = try await Self.call(client, .get, "/api/tickets/\(id)", token: callers.member)
            #expect(unread.body?["ticket"]?["unread_count"] == .number(1), "\(unread.text)")
            #expect(try await Self.call(client, .post, "/api/tickets/\(id)/mark-read", token: callers.member).body?["unread_count"] == .number(0))

            let closed = try await Self.call(client, .post, "/api/tickets/\(id)/close", token: callers.member)
            #expect(closed.body?["status"]?.stringValue == "closed", "\(closed.text)")
            #expect(try await Self.call(client, .post, "/api/tickets/\(id)/close", token: callers.member).status == .conflict)
            #expect(try await Self.call(client, .post, "/api/tickets/\(id)/send", token: callers.member, json: #"{"message":"x"}"#).status == .conflict)
            #expect(try await Self.call(client, .post, "/api/tickets/\(id)/reopen", token: callers.member).body?["status"]?.stringValue == "open")

            #expect(try await Self.call(client, .delete, "/api/tickets/\(id)", token: callers.moderator).status == .forbidden)
            #expect(try await Self.call(client, .delete, "/api/tickets/\(id)", token: callers.admin).status == .ok)
            #expect(try await Self.call(client, .get, "/api/tickets/\(id)", token: callers.admin).status == .notFound)
            #expect(try await Self.call(client, .delete, "/api/tickets/\(id)", token: callers.admin).status == .notFound)
        }
    }

    @Test func anyoneReadsTheDeskSettingsOnlyAdminsChangeThemAndARefusedChangeChangesNothing() async throws {
        try await withTickets { client, callers in
            // A member opening a ticket picks one of the categories; only admins change them.
            #expect(try await Self.call(client, .get, "/api/tickets/config", token: callers.member).status == .ok)
            #expect(try await Self.call(client, .put, "/api/tickets/config", token: callers.moderator, json: #"{"enabled":false}"#).status == .forbidden)
            let before = try await Self.call(client, .get, "/api/tickets/config", token: callers.admin)
            #expect(before.status == .ok, "\(before.text)")
            #expect(before.body?["categories"]?.elements?.isEmpty == false)
            #expect(try await Self.call(client, .put, "/api/tickets/config", token: callers.member, json: #"{"enabled":false}"#).status == .forbidden)
            for bad in [#"{}"#, #"{"max_open_per_user":0}"#, #"{"categories":["a","a"]}"#, #"{"enabled":null}"#, #"{"colour":"red"}"#] {
                let refused = try await Self.call(client, .put, "/api/tickets/config", token: callers.admin, json: bad)
                #expect(refused.status == .badRequest, "\(bad): \(refused.text)")
            }
            #expect(try await Self.call(client, .get, "/api/tickets/config", token: callers.admin).body == before.body)
        }
    }
}
