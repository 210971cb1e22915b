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
        // One more message marks the end: sent once every socket has heard the others, it reaches
        // each socket after them, on the same path, so a repeat of either would be there before it.
        let marker = try await send(owner.token, ticket, "One more thing")
        for socket in sockets {
            #expect(await socket.wait { _ in Self.delivered(socket, ticket).contains(marker) }, "\(socket.frames)")
            #expect(Self.delivered(socket, ticket) == [reply, followUp, marker], "each message once, in order: \(socket.frames)")
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
        #expect(late.frames("message_history").first?["messages"]?.array?.compactMap { $0["id"]?.stringValue } == [followUp, marker])

        // After leave_ticket a socket hears no more of the room; the others still do. The socket
        // that left joins the room of another ticket of the owner's instead (frames are handled in
        // order, so once that room's history is there the leave is done): a message there, sent
        // after the room has heard the one the socket must miss, reaches the socket after it would have.
        let other = try await open(owner.token)
        sockets[2].send(#"{"type":"leave_ticket","ticket_id":"\#(ticket)"}"#)
        sockets[2].send(Self.join(other))
        #expect(
            await sockets[2].wait { $0.contains { $0["type"] == .string("message_history") && $0["ticket_id"] == .string(other) } },
            "\(sockets[2].frames)"
        )
        let after = try await send(moderator.token, ticket, "Fixed, try again.")
        #expect(await sockets[0].wait { _ in Self.delivered(sockets[0], ticket).contains(after) })
        let elsewhere = try await send(owner.token, other, "And the other VM?")
        #expect(await sockets[2].wait { _ in Self.delivered(sockets[2], other).contains(elsewhere) }, "\(sockets[2].frames)")
        #expect(Self.delivered(sockets[2], ticket) == [reply, followUp, marker], "a frame of the room after leave_ticket: \(sockets[2].frames)")

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

        // The stranger hears nothing of the room. Either tickets replica may relay an event, so the
        // owner's message is known to be out only once the owner, in the room, has heard it. The
        // marker then is a message in the stranger's own ticket, whose room the stranger's socket
        // is in: it reaches that socket on the same path, after the owner's message would have.
        let own = try await open(stranger.token)
        socket.send(Self.join(own))
        #expect(await socket.wait { $0.contains { $0["type"] == .string("message_history") } }, "\(socket.frames)")
        let ownerSocket = try await LiveSocket.open(token: owner.token)
        ownerSocket.send(Self.join(ticket))
        #expect(await ownerSocket.wait { $0.contains { $0["type"] == .string("message_history") } }, "\(ownerSocket.frames)")
        let secret = try await send(owner.token, ticket, "private")
        #expect(await ownerSocket.wait { _ in Self.delivered(ownerSocket, ticket).contains(secret) }, "\(ownerSocket.frames)")
        let marker = try await send(stranger.token, own, "A question of my own")
        #expect(await socket.wait { _ in Self.delivered(socket, own).contains(marker) }, "\(socket.frames)")
        #expect(socket.frames("new_message").compactMap { $0["message"]?["id"]?.stringValue } == [marker], "\(socket.frames)")
        await ownerSocket.close()
        await socket.close()
    }

    @Test func aStaffReplyReachesTheInboxOfAnOwnerWhoIsNotInTheRoom() async throws {
        let admin = try await stack.adminToken()
        let owner = try await stack.makeUser(role: "user", admin: admin)
        let moderator = try await stack.makeUser(role: "moderator", admin: admin)
        let ticket = try await open(owner.token)

        func inbox() async throws -> [JSONValue] {
            try await stack.send(.GET, "/api/notifications?limit=200", token: owner.token).json()["items"]?.array ?? []
        }
        func replies() async throws -> [JSONValue] {
            try await inbox().filter { $0["kind"] == .string("ticket_reply") }
        }
        /// Sends `text` as the moderator and waits until its inbox entry is listed (a marker:
        /// the same consumers write it for the same owner, after what came before it).
        func staffReplyReachesTheInbox(_ text: String) async throws -> Bool {
            _ = try await send(moderator.token, ticket, text)
            return try await eventually(timeout: .seconds(60)) { try await replies().contains { $0["body"] == .string(text) } }
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
        #expect(try await staffReplyReachesTheInbox("While you were away"), "no inbox entry for a reply the owner did not see")
        #expect(await socket.wait { $0.contains { $0["type"] == .string("notification") } }, "\(socket.frames)")

        // One entry a reply, and none for the reply seen live: a second reply out of the room is the
        // marker, and once its entry is listed a repeat of the first (or a late one for the reply
        // seen live) would be listed too.
        #expect(try await staffReplyReachesTheInbox("Anything else?"), "no inbox entry for the second reply")
        let two = try await replies()
        #expect(two.map { $0["body"] } == [.string("Anything else?"), .string("While you were away")], "\(two)")

        // The owner's own messages never notify the owner: a staff reply after it is the marker.
        _ = try await send(owner.token, ticket, "Back now")
        #expect(try await staffReplyReachesTheInbox("Glad to hear it"), "no inbox entry for the third reply")
        let three = try await replies()
        #expect(three.map { $0["body"] } == [.string("Glad to hear it"), .string("Anything else?"), .string("While you were away")], "\(three)")
        let everything = try await inbox()
        #expect(!everything.contains { $0["body"] == .string("Back now") }, "\(everything)")
        await socket.close()
    }
}
