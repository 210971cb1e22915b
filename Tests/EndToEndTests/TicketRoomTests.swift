import Foundation
import GuildCore
import GuildTestSupport
import Testing

/// Ticket rooms on notify's WebSockets: two notify replicas, two tickets replicas, nginx.
@Suite("Live chat: ticket rooms on /ws", .watched)
struct TicketRoomTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    func open(_ token: String) async throws -> String {
        let reply = try await stack.send(.POST, "/api/tickets", token: token, json: ["subject": "Lag on vm2", "category": "technical", "message": "Since noon."])
        guard reply.status == 201, let id = try reply.json()["ticket_id"]?.stringValue else {
            throw StackClient.Failure(message: "opening a ticket answered \(reply.status): \(reply.text)")
        }
        return id
    }

    /// Sends `text` in `ticket` as `token`; the message's id.
    func send(_ token: String, _ ticket: String, _ text: String) async throws -> String {
        let reply = try await stack.send(.POST, "/api/tickets/\(ticket)/send", token: token, json: ["message": text])
        guard reply.status == 200, let id = try reply.json()["message"]?["id"]?.stringValue else {
            throw StackClient.Failure(message: "sending answered \(reply.status): \(reply.text)")
        }
        return id
    }

    static func join(_ ticket: String, since: String? = nil) -> String {
        since.map { #"{"type":"join_ticket","ticket_id":"\#(ticket)","since":"\#($0)"}"# } ?? #"{"type":"join_ticket","ticket_id":"\#(ticket)"}"#
    }

    /// The `new_message` frames of `socket` for `ticket`, by message id.
    static func delivered(_ socket: LiveSocket, _ ticket: String) -> [String] {
        socket.frames("new_message").filter { $0["ticket_id"] == .string(ticket) }.compactMap { $0["message"]?["id"]?.stringValue }
    }

    @Test func aMessageSentThroughOneReplicaReachesTheRoomOnEveryReplicaOnce() async throws {
        let admin = try await stack.adminToken()
        let owner = try await stack.makeUser(role: "user", admin: admin)
        let moderator = try await stack.makeUser(role: "moderator", admin: admin)
        let ticket = try await open(owner.token)

        // The owner on replica 1 and through nginx, staff on replica 2.
        let sockets = [
            try await LiveSocket.open(token: owner.token, replica: 1),
            try await LiveSocket.open(token: moderator.token, replica: 2),
            try await LiveSocket.open(token: owner.token),
        ]
        for socket in sockets {
            socket.send(Self.join(ticket))
            #expect(await socket.wait { $0.contains { $0["type"] == .string("message_history") } }, "\(socket.frames)")
            let history = socket.frames("message_history").first
            #expect(history?["ticket_id"] == .string(ticket))
            #expect(history?["messages"]?.array?.map { $0["content"] } == [.string("Since noon.")])
        }

        let reply = try await send(moderator.token, ticket, "Looking into it.")
        let followUp = try await send(owner.token, ticket, "Thanks")
        for socket in sockets {
            #expect(await socket.wait { _ in Self.delivered(socket, ticket).contains(followUp) }, "\(socket.frames)")
        }
        try await Task.sleep(for: .milliseconds(300))
        for socket in sockets {
            #expect(Self.delivered(socket, ticket) == [reply, followUp], "each message once, in order: \(socket.frames)")
        }
        let frame = sockets[0].frames("new_message").first
        #expect(frame?["message"]?["is_admin"] == .bool(true))
        #expect(frame?["message"]?["author_name"] == .string(moderator.name))

        // State changes reach the room too, naming who made them.
        #expect(try await stack.send(.POST, "/api/tickets/\(ticket)/claim", token: moderator.token).status == 200)
        #expect(try await stack.send(.POST, "/api/tickets/\(ticket)/close", token: moderator.token).status == 200)
        #expect(try await stack.send(.POST, "/api/tickets/\(ticket)/reopen", token: moderator.token).status == 200)
        for socket in sockets {
            let all = await socket.wait { frames in ["ticket_claimed", "ticket_closed", "ticket_reopened"].allSatisfy { type in frames.contains { $0["type"] == .string(type) } } }
            #expect(all, "\(socket.frames)")
            #expect(socket.frames("ticket_closed").first?["by"] == .string(moderator.id))
        }

        // A reconnecting client catches up with `since`: only what came after.
        let late = try await LiveSocket.open(token: owner.token)
        late.send(Self.join(ticket, since: reply))
        #expect(await late.wait { $0.contains { $0["type"] == .string("message_history") } })
        #expect(late.frames("message_history").first?["messages"]?.array?.compactMap { $0["id"]?.stringValue } == [followUp])

        // After leave_ticket a socket hears no more of the room; the others still do.
        sockets[2].send(#"{"type":"leave_ticket","ticket_id":"\#(ticket)"}"#)
        sockets[2].send(#"{"type":"ping"}"#)
        #expect(await sockets[2].wait { $0.contains { $0["type"] == .string("pong") } })
        let after = try await send(moderator.token, ticket, "Fixed, try again.")
        #expect(await sockets[0].wait { _ in Self.delivered(sockets[0], ticket).contains(after) })
        try await Task.sleep(for: .milliseconds(300))
        #expect(!Self.delivered(sockets[2], ticket).contains(after))

        for socket in sockets + [late] { await socket.close() }
    }

    @Test func onlyTheOwnerAndStaffJoinAndBadFramesKeepTheSocketOpen() async throws {
        let admin = try await stack.adminToken()
        let owner = try await stack.makeUser(role: "user", admin: admin)
        let stranger = try await stack.makeUser(role: "user", admin: admin)
        let ticket = try await open(owner.token)

        let socket = try await LiveSocket.open(token: stranger.token)
        for frame in [
            Self.join(ticket), Self.join(UUID().uuidString.lowercased()), #"{"type":"join_ticket"}"#,
            #"{"type":"join_ticket","ticket_id":"not-a-ticket"}"#, Self.join(ticket, since: "yesterday"),
        ] {
            socket.send(frame)
        }
        socket.send(#"{"type":"ping"}"#)
        #expect(await socket.wait { $0.contains { $0["type"] == .string("pong") } }, "\(socket.frames)")
        let errors = socket.frames("error").map { $0["code"]?.stringValue ?? "" }
        #expect(errors == ["not_found", "not_found", "bad_request", "bad_request", "bad_request"], "\(socket.frames)")
        #expect(socket.frames("message_history").isEmpty, "nothing of the ticket leaks")

        // The stranger hears nothing of the room.
        _ = try await send(owner.token, ticket, "private")
        try await Task.sleep(for: .milliseconds(500))
        #expect(socket.frames("new_message").isEmpty)
        await socket.close()
    }

    @Test func aStaffReplyReachesTheInboxOfAnOwnerWhoIsNotInTheRoom() async throws {
        let admin = try await stack.adminToken()
        let owner = try await stack.makeUser(role: "user", admin: admin)
        let moderator = try await stack.makeUser(role: "moderator", admin: admin)
        let ticket = try await open(owner.token)

        func replies() async throws -> [JSONValue] {
            try await stack.send(.GET, "/api/notifications?limit=200", token: owner.token).json()["items"]?.array?
                .filter { $0["kind"] == .string("ticket_reply") } ?? []
        }

        // In the room: the reply is seen live, and no inbox entry is written for it.
        let socket = try await LiveSocket.open(token: owner.token)
        socket.send(Self.join(ticket))
        #expect(await socket.wait { $0.contains { $0["type"] == .string("message_history") } })
        let seen = try await send(moderator.token, ticket, "Seen live")
        #expect(await socket.wait { _ in Self.delivered(socket, ticket).contains(seen) })
        socket.send(#"{"type":"leave_ticket","ticket_id":"\#(ticket)"}"#)
        socket.send(#"{"type":"ping"}"#)
        #expect(await socket.wait { $0.contains { $0["type"] == .string("pong") } })

        // Out of the room: the reply goes to the inbox, and live to the owner's sockets as a notification.
        _ = try await send(moderator.token, ticket, "While you were away")
        var found: [JSONValue] = []
        let arrived = try await eventually(timeout: .seconds(60)) {
            found = try await replies()
            return !found.isEmpty
        }
        #expect(arrived, "no inbox entry for a reply the owner did not see")
        try await Task.sleep(for: .milliseconds(500))
        found = try await replies()
        #expect(found.count == 1, "\(found)")
        #expect(found.first?["body"] == .string("While you were away"))
        #expect(await socket.wait { $0.contains { $0["type"] == .string("notification") } }, "\(socket.frames)")

        // The owner's own messages never notify the owner.
        _ = try await send(owner.token, ticket, "Back now")
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await replies().count == 1)
        await socket.close()
    }
}
