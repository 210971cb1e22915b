import Foundation
import GuildCore
import GuildPostgres
import GuildTestSupport
import NIOHTTP1
import PostgresNIO
import Testing

/// The support desk through nginx, as users, staff and admins use it (two tickets replicas),
/// with the desk's settings as they are (``TicketDeskSettingsTests`` changes them, alone).
@Suite("Through nginx: support tickets", .serialized, .watched)
struct TicketsTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    /// Opens a ticket as `token`; the created ticket's JSON.
    func open(_ token: String, subject: String = "My VM does not start", category: String = "support", message: String = "It hangs at boot.") async throws -> JSONValue {
        let reply = try await stack.send(.POST, "/api/tickets", token: token, json: ["subject": subject, "category": category, "message": message])
        guard reply.status == 201 else { throw StackClient.Failure(message: "opening a ticket answered \(reply.status): \(reply.text)") }
        return try reply.json()
    }

    func send(_ token: String, _ ticket: String, _ message: String, clientId: String? = nil) async throws -> StackClient.Reply {
        var body = ["message": message]
        if let clientId { body["client_message_id"] = clientId }
        return try await stack.send(.POST, "/api/tickets/\(ticket)/send", token: token, json: body)
    }

    func unread(_ token: String, _ ticket: String) async throws -> Int? {
        try await stack.send(.GET, "/api/tickets/\(ticket)", token: token).json()["ticket"]?["unread_count"]?.int
    }

    /// The events of `type` about `ticket` in the tickets outbox.
    func events(_ type: String, ticket: String) async throws -> Int {
        try await withStackDatabase(schema: "tickets") { postgres in
            try await postgres.query(
                "SELECT count(*)::int FROM outbox WHERE type = \(type) AND data->>'ticket_id' = \(ticket)", logger: e2eLogger
            ).decode(Int.self).first { _ in true } ?? -1
        }
    }

    @Test func aUserAndStaffTalkUntilTheTicketIsClosedAndReopened() async throws {
        let admin = try await stack.adminToken()
        let owner = try await stack.makeUser(role: "user", admin: admin)
        let moderator = try await stack.makeUser(role: "moderator", admin: admin)

        let ticket = try await open(owner.token)
        let id = try #require(ticket["ticket_id"]?.stringValue)
        #expect(ticket["status"] == .string("open"))
        #expect(ticket["user_id"] == .string(owner.id))
        #expect(ticket["user_name"] == .string(owner.name))
        #expect(ticket["claimed_by"] == .null)
        // As the HazeBot app reads it: the last message's text, and when it was written.
        #expect(ticket["last_message"] == .string("It hangs at boot."))
        #expect(ticket["last_message_at"]?.stringValue.flatMap(RFC3339.parse) != nil, "\(ticket)")
        #expect(ticket["unread_count"]?.int == 0, "the owner has read their own first message")

        // The owner sees it in their list; staff see it in everyone's, unread.
        let own = try await stack.send(.GET, "/api/tickets?status=open", token: owner.token).json()
        #expect(own["tickets"]?.array?.map { $0["ticket_id"] } == [.string(id)])
        let all = try await stack.send(.GET, "/api/tickets?status=all&limit=200", token: moderator.token).json()
        #expect(all["tickets"]?.array?.contains { $0["ticket_id"] == .string(id) && $0["unread_count"]?.int == 1 } == true)

        // Staff answer: written by staff, unread for the owner only.
        try await #expect(stack.send(.POST, "/api/tickets/\(id)/claim", token: moderator.token).json()["claimed_by"] == .string(moderator.id))
        let answer = try await send(moderator.token, id, "Restarting it now.")
        #expect(answer.status == 200, "\(answer.text)")
        #expect(try answer.json()["message"]?["is_admin"] == .bool(true))
        #expect(try answer.json()["message"]?["author_name"] == .string(moderator.name))
        #expect(try await unread(owner.token, id) == 1)
        #expect(try await unread(moderator.token, id) == 0, "sending marks the sender's own reading")

        // mark-read clears only the caller's count.
        #expect(try await send(owner.token, id, "Thanks!").status == 200)
        #expect(try await unread(moderator.token, id) == 1)
        #expect(try await stack.send(.POST, "/api/tickets/\(id)/mark-read", token: moderator.token).status == 200)
        #expect(try await unread(moderator.token, id) == 0)
        #expect(try await unread(owner.token, id) == 0)

        // The page: messages oldest first, paged back with `before`.
        let page = try await stack.send(.GET, "/api/tickets/\(id)?limit=2", token: owner.token).json()
        #expect(page["messages"]?.array?.map { $0["content"] } == [.string("Restarting it now."), .string("Thanks!")])
        let before = try #require(page["next_cursor"]?.stringValue)
        let older = try await stack.send(.GET, "/api/tickets/\(id)?limit=2&before=\(before)", token: owner.token).json()
        #expect(older["messages"]?.array?.map { $0["content"] } == [.string("It hangs at boot.")])
        #expect(older["next_cursor"] == .null)

        let transcript = try await stack.send(.GET, "/api/tickets/\(id)/transcript", token: owner.token)
        #expect(transcript.status == 200)
        #expect(transcript.headers.first(name: "Content-Type")?.hasPrefix("text/plain") == true)
        #expect(transcript.text.contains("My VM does not start"))
        #expect(transcript.text.contains("\(moderator.name) (staff):\n  Restarting it now."))

        // Closing: the owner may close their own; a closed ticket takes no messages.
        #expect(try await stack.send(.POST, "/api/tickets/\(id)/close", token: owner.token).json()["status"] == .string("closed"))
        let late = try await send(owner.token, id, "One more thing")
        #expect(late.status == 409)
        #expect(try late.errorCode() == "ticket_closed")
        #expect(try await stack.send(.POST, "/api/tickets/\(id)/close", token: moderator.token).status == 409)
        let stranger = try await stack.makeUser(role: "user", admin: admin)
        #expect(try await stack.send(.POST, "/api/tickets/\(id)/reopen", token: stranger.token).status == 404, "another user reopened it")
        #expect(try await stack.send(.POST, "/api/tickets/\(id)/reopen", token: moderator.token).json()["status"] == .string("open"))
        #expect(try await stack.send(.POST, "/api/tickets/\(id)/reopen", token: moderator.token).status == 409)
        #expect(try await send(owner.token, id, "One more thing").status == 200)
        let listed = try await stack.send(.GET, "/api/tickets?status=open", token: owner.token).json()["tickets"]?.array?.first
        #expect(listed?["last_message"] == .string("One more thing"))

        // The owner reopens their own closed ticket, as in the HazeBot desk.
        #expect(try await stack.send(.POST, "/api/tickets/\(id)/close", token: moderator.token).json()["status"] == .string("closed"))
        #expect(try await stack.send(.POST, "/api/tickets/\(id)/reopen", token: owner.token).json()["status"] == .string("open"))

        // Each change went out as an event through the outbox.
        let expected = [
            ("tickets.created", 1), ("tickets.message_created", 4), ("tickets.claimed", 1), ("tickets.closed", 2), ("tickets.reopened", 2),
        ]
        for (type, count) in expected {
            #expect(try await events(type, ticket: id) == count, "\(type)")
        }
    }

    @Test func onlyTheOwnerAndStaffSeeATicketAndOnlyAdminsDeleteIt() async throws {
        let admin = try await stack.adminToken()
        let owner = try await stack.makeUser(role: "user", admin: admin)
        let stranger = try await stack.makeUser(role: "user", admin: admin)
        let moderator = try await stack.makeUser(role: "moderator", admin: admin)
        let id = try #require(try await open(owner.token)["ticket_id"]?.stringValue)

        for (method, path) in [
            (HTTPMethod.GET, "/api/tickets/\(id)"), (.POST, "/api/tickets/\(id)/send"), (.POST, "/api/tickets/\(id)/close"),
            (.POST, "/api/tickets/\(id)/mark-read"), (.GET, "/api/tickets/\(id)/transcript"), (.POST, "/api/tickets/\(id)/claim"),
        ] {
            let reply = try await stack.send(method, path, token: stranger.token, raw: #"{"message":"hi"}"#)
            #expect(reply.status == 404, "\(method) \(path): \(reply.text)")
            #expect(try reply.errorCode() == "ticket_not_found")
            #expect(!reply.text.contains("My VM"), "a refusal leaks nothing")
        }
        #expect(try await stack.send(.GET, "/api/tickets", token: stranger.token).json()["tickets"]?.array?.isEmpty == true)
        // Staff filter the desk by category: the ticket is in its own and in no other.
        let ownCategory = try await stack.send(.GET, "/api/tickets/\(id)", token: moderator.token).json()["ticket"]?["category"]?.stringValue ?? ""
        let inCategory = try await stack.send(.GET, "/api/tickets?category=\(ownCategory)&limit=200", token: moderator.token).json()["tickets"]?.array ?? []
        #expect(inCategory.contains { $0["ticket_id"] == .string(id) } && inCategory.allSatisfy { $0["category"] == .string(ownCategory) })
        let otherCategory = ownCategory == "billing" ? "support" : "billing"
        let elsewhere = try await stack.send(.GET, "/api/tickets?category=\(otherCategory)&limit=200", token: moderator.token).json()["tickets"]?.array ?? []
        #expect(!elsewhere.contains { $0["ticket_id"] == .string(id) })
        let badCategory = try await stack.send(.GET, "/api/tickets?category=Not%20One", token: moderator.token)
        #expect(badCategory.status == 400 && badCategory.text.contains("category"), "\(badCategory.text)")
        #expect(try await stack.send(.POST, "/api/tickets/\(id)/claim", token: owner.token).status == 403)
        // The desk's settings: anyone signed in reads them (the categories to open a ticket in); only admins change them.
        let desk = try await stack.send(.GET, "/api/tickets/config", token: stranger.token)
        #expect(desk.status == 200, "\(desk.text)")
        #expect(try desk.json()["categories"]?.array?.isEmpty == false, "\(desk.text)")
        #expect(try await stack.send(.PUT, "/api/tickets/config", token: moderator.token, raw: #"{"max_open_per_user":3}"#).status == 403)
        #expect(try await stack.send(.DELETE, "/api/tickets/\(id)", token: moderator.token).status == 403)
        #expect(try await stack.send(.DELETE, "/api/tickets/\(id)", token: owner.token).status == 403)

        #expect(try await stack.send(.DELETE, "/api/tickets/\(id)", token: admin).status == 200)
        #expect(try await stack.send(.GET, "/api/tickets/\(id)", token: owner.token).status == 404)
        #expect(try await stack.send(.DELETE, "/api/tickets/\(id)", token: admin).status == 404)
        #expect(try await events("tickets.deleted", ticket: id) == 1)
    }

    @Test func whenStaffCloseATicketAtOnceExactlyOneSucceeds() async throws {
        let admin = try await stack.adminToken()
        let owner = try await stack.makeUser(role: "user", admin: admin)
        var staff: [String] = [admin]
        for _ in 0..<5 { staff.append(try await stack.makeUser(role: "moderator", admin: admin).token) }
        let id = try #require(try await open(owner.token)["ticket_id"]?.stringValue)

        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for token in staff + staff { group.addTask { try await stack.send(.POST, "/api/tickets/\(id)/close", token: token).status } }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.filter { $0 == 200 }.count == 1, "\(statuses)")
        #expect(statuses.filter { $0 == 409 }.count == statuses.count - 1, "\(statuses)")
        #expect(try await events("tickets.closed", ticket: id) == 1)
    }

    @Test func aRetriedMessageIsPostedOnceEvenWhenTheRetriesRace() async throws {
        let admin = try await stack.adminToken()
        let owner = try await stack.makeUser(role: "user", admin: admin)
        let id = try #require(try await open(owner.token)["ticket_id"]?.stringValue)

        let first = try await send(owner.token, id, "Are you there?", clientId: "msg-1")
        let again = try await send(owner.token, id, "Are you there?", clientId: "msg-1")
        #expect(first.status == 200 && again.status == 200)
        #expect(try first.json()["message"]?["id"] == again.json()["message"]?["id"])
        #expect(again.headers.first(name: "Idempotent-Replayed") == "true")

        let ids = try await withThrowingTaskGroup(of: JSONValue?.self) { group in
            for _ in 0..<10 { group.addTask { try await send(owner.token, id, "Hello?", clientId: "msg-2").json()["message"]?["id"] } }
            return try await group.reduce(into: [JSONValue?]()) { $0.append($1) }
        }
        #expect(Set(ids.compactMap { $0?.stringValue }).count == 1, "\(ids)")
        let stored = try await withStackDatabase(schema: "tickets") { postgres in
            try await postgres.query(
                "SELECT count(*)::int FROM messages WHERE ticket_id = \(UUID(uuidString: id)!) AND content = 'Hello?'", logger: e2eLogger
            ).decode(Int.self).first { _ in true }
        }
        #expect(stored == 1)
        #expect(try await events("tickets.message_created", ticket: id) == 3, "the first message, msg-1 and msg-2, once each")
    }

    @Test func badInputIsRefusedAndStoresNothing() async throws {
        let admin = try await stack.adminToken()
        let user = try await stack.makeUser(role: "user", admin: admin)
        let long = String(repeating: "x", count: 201)
        let cases: [(String, Int, String)] = [
            ("not json", 400, "malformed_body"),
            (#"{"subject":"","category":"support","message":"hi"}"#, 400, "invalid_field"),
            (#"{"subject":"   ","category":"support","message":"hi"}"#, 400, "invalid_field"),
            (#"{"subject":"\#(long)","category":"support","message":"hi"}"#, 400, "invalid_field"),
            (#"{"subject":"s","category":"support","message":""}"#, 400, "invalid_field"),
            (#"{"subject":"s","category":"support","message":"\#(String(repeating: "y", count: 4001))"}"#, 400, "invalid_field"),
            (#"{"subject":"s","category":"gossip","message":"hi"}"#, 400, "invalid_field"),
            (#"{"subject":"s","category":"NOT A CATEGORY","message":"hi"}"#, 400, "invalid_field"),
            (#"{"subject":"s","message":"hi"}"#, 400, "invalid_field"),
            (#"{"subject":"s\u0000","category":"support","message":"hi"}"#, 400, "invalid_field"),
            (#"{"subject":5,"category":"support","message":"hi"}"#, 400, "invalid_field"),
        ]
        for (body, status, code) in cases {
            let reply = try await stack.send(.POST, "/api/tickets", token: user.token, raw: body)
            #expect(reply.status == status, "\(body.prefix(80)) → \(reply.text)")
            #expect(try reply.errorCode() == code, "\(body.prefix(80)) → \(reply.text)")
        }
        #expect(try await stack.send(.GET, "/api/tickets", token: user.token).json()["tickets"]?.array?.isEmpty == true)

        let id = try #require(try await open(user.token)["ticket_id"]?.stringValue)
        for (method, path, body) in [
            (HTTPMethod.POST, "/api/tickets/\(id)/send", #"{"message":""}"#),
            (.POST, "/api/tickets/\(id)/send", #"{"message":"hi","client_message_id":""}"#),
            (.POST, "/api/tickets/\(id)/send", #"{"message":"hi","client_message_id":"has space"}"#),
            (.GET, "/api/tickets?status=lost", ""),
            (.GET, "/api/tickets/\(id)?before=nope", ""),
            (.GET, "/api/tickets?limit=0", ""),
        ] {
            let reply = try await stack.send(method, path, token: user.token, raw: body)
            #expect(reply.status == 400, "\(method) \(path) \(body) → \(reply.text)")
        }
        for path in ["/api/tickets/not-a-uuid", "/api/tickets/\(UUID().uuidString)"] {
            #expect(try await stack.send(.GET, path, token: user.token).status == 404)
        }
        let page = try await stack.send(.GET, "/api/tickets/\(id)", token: user.token).json()
        #expect(page["messages"]?.array?.count == 1, "nothing refused was stored")
    }
}
