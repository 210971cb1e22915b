import Foundation
import GuildClients
import GuildCore
import GuildServiceKit
import HTTPTypes
import Hummingbird

/// `/api/tickets`: open, list, read, send, claim, close, reopen, mark read, delete, transcript.
struct TicketsController: Sendable {
    let tickets: TicketRepository
    let users: UserDirectory

    var endpoints: RouteCollection<AuthenticatedContext> {
        RouteCollection(context: AuthenticatedContext.self)
            .get(use: list)
            .post(use: open)
            .get(":ticket_id", use: show)
            .post(":ticket_id/send", use: send)
            .post(":ticket_id/close", use: close)
            .post(":ticket_id/reopen", use: reopen)
            .post(":ticket_id/claim", use: claim)
            .post(":ticket_id/mark-read", use: markRead)
            .get(":ticket_id/transcript", use: transcript)
    }

    var adminEndpoints: RouteCollection<AdminContext> {
        RouteCollection(context: AdminContext.self).delete(":ticket_id", use: delete)
    }

    // MARK: Who is asking

    /// The caller as a message author: auth's name and avatar for them.
    func author(_ context: AuthenticatedContext) async throws -> Author {
        let account = try await users.recentAccount(context.caller.userId)
        guard account.userFound, account.disabled != true else { throw APIError.unauthorized("the account is unknown or disabled") }
        return Author(id: context.caller.userId, name: account.username ?? "user", avatar: account.avatar, isStaff: context.caller.isStaff)
    }

    /// The ticket named in the path, if the caller may take part in it; someone else's is a 404.
    func ticket(_ context: AuthenticatedContext) async throws -> (TicketHead, TicketRules.Access) {
        let id = try context.parameters.uuid("ticket_id", or: .ticketNotFound)
        guard let head = try await tickets.head(id, logger: context.logger) else { throw APIError.ticketNotFound }
        let access = TicketRules.Access(owner: head.ownerId, reader: context.caller.userId, isStaff: context.caller.isStaff)
        guard access.canTakePart else { throw APIError.ticketNotFound }
        return (head, access)
    }

    // MARK: Routes

    struct List: ResponseEncodable {
        var tickets: [Ticket]
        var nextCursor: String?
    }

    /// `?status=open|closed|all` (default all), `?category=`: staff see everyone's, users their own.
    @Sendable func list(request: Request, context: AuthenticatedContext) async throws -> List {
        let page = try PageRequest(request)
        let status: Ticket.Status?
        switch request.uri.queryParameters["status"].map(String.init) {
        case nil, "all": status = nil
        case let text?:
            guard let value = Ticket.Status(rawValue: text) else { throw APIError.invalidField("status", "must be open, closed or all") }
            status = value
        }
        let categories = request.uri.queryParameters[values: "category"]
        guard categories.count <= 1 else { throw APIError.invalidField("category", "must be given once") }
        let category = categories.first.map(String.init)
        if let category, !TicketRules.isCategoryName(category) { throw APIError.invalidField("category", "must be a category name") }
        let found = try await tickets.list(
            reader: context.caller, status: status, category: category, after: page.cursor, limit: page.fetchLimit, logger: context.logger
        )
        let shown = Page(fetched: found, request: page) { $0.ticketId }
        return List(tickets: shown.items, nextCursor: shown.nextCursor)
    }

    struct OpenRequest: Decodable {
        var subject: String
        var category: String
        var message: String
    }

    @Sendable func open(request: Request, context: AuthenticatedContext) async throws -> EditedResponse<Ticket> {
        let body = try await request.decodeJSON(as: OpenRequest.self, context: context)
        let subject = try TicketRules.text(body.subject, field: "subject", range: TicketRules.subjectLength)
        let message = try TicketRules.text(body.message, field: "message", range: TicketRules.messageLength)
        guard TicketRules.isCategoryName(body.category) else { throw APIError.invalidField("category", "is not a category") }
        let ticket = try await tickets.open(by: try await author(context), subject: subject, category: body.category, message: message, logger: context.logger)
        context.logger.info("ticket opened", metadata: ["ticket_id": "\(ticket.ticketId)"])
        return EditedResponse(status: .created, response: ticket)
    }

    /// The ticket with its newest messages (`?limit=`, default 50), oldest first; `?before=` pages back.
    @Sendable func show(request: Request, context: AuthenticatedContext) async throws -> TicketPage {
        let (head, _) = try await ticket(context)
        let limit = try PageRequest(request).limit
        let before = try request.query("before").map { text in
            guard let id = UUID(uuidString: text) else { throw APIError.invalidField("before", "is not a cursor this API returned") }
            return id
        }
        guard let ticket = try await tickets.ticket(head.id, reader: context.caller.userId, logger: context.logger) else { throw APIError.ticketNotFound }
        let (messages, more) = try await tickets.messages(of: head.id, before: before, limit: limit, logger: context.logger)
        return TicketPage(ticket: ticket, messages: messages, nextCursor: more ? messages.first?.id.uuidString.lowercased() : nil)
    }

    struct SendRequest: Decodable {
        var message: String
        var clientMessageId: String?
    }

    struct Sent: ResponseEncodable {
        var success = true
        var message: TicketMessage
    }

    /// Posts a message; a retry with the same `client_message_id` returns the first one (200 both times).
    @Sendable func send(request: Request, context: AuthenticatedContext) async throws -> Response {
        // Who may write in the ticket is decided with the message itself, in one statement.
        let id = try context.parameters.uuid("ticket_id", or: .ticketNotFound)
        let body = try await request.decodeJSON(as: SendRequest.self, context: context, nullable: ["client_message_id"])
        let content = try TicketRules.text(body.message, field: "message", range: TicketRules.messageLength)
        let clientId = try body.clientMessageId.map(TicketRules.clientMessageId)
        let sent = try await tickets.send(content, in: id, by: try await author(context), clientId: clientId, logger: context.logger)
        var response = try context.responseEncoder.encode(Sent(message: sent.message), from: request, context: context)
        if sent.replayed { response.headers[.idempotentReplayed] = "true" }
        return response
    }

    /// Closes an open ticket: staff, or its owner (whoever may take part); 409 when it is closed already.
    @Sendable func close(request: Request, context: AuthenticatedContext) async throws -> Ticket {
        let (head, _) = try await ticket(context)
        guard let ticket = try await tickets.change(head.id, from: .open, to: .closed, by: try await author(context), event: EventType.ticketClosed, logger: context.logger)
        else { throw APIError.ticketClosed }
        return ticket
    }

    /// Opens a closed ticket again (staff, or its owner within their open-ticket limit); 409 when it is open.
    @Sendable func reopen(request: Request, context: AuthenticatedContext) async throws -> Ticket {
        let (head, access) = try await ticket(context)
        // Its owner may reopen a ticket of theirs, as staff may (as in the HazeBot desk).
        guard access.canTakePart else { throw APIError.forbidden("only the ticket's owner or staff reopen it") }
        guard let ticket = try await tickets.change(
            head.id, from: .closed, to: .open, by: try await author(context), event: EventType.ticketReopened,
            limitOf: access.canManage ? nil : head.ownerId, logger: context.logger
        ) else { throw APIError.ticketOpen }
        return ticket
    }

    /// Assigns the ticket to the calling staff member; 409 when it is closed.
    @Sendable func claim(request: Request, context: AuthenticatedContext) async throws -> Ticket {
        let (head, access) = try await ticket(context)
        guard access.canManage else { throw APIError.forbidden("only staff claim tickets") }
        guard let ticket = try await tickets.claim(head.id, by: try await author(context), logger: context.logger) else { throw APIError.ticketClosed }
        return ticket
    }

    struct Read: ResponseEncodable {
        var success = true
        var unreadCount = 0
    }

    /// Clears the caller's unread count, and only the caller's.
    @Sendable func markRead(request: Request, context: AuthenticatedContext) async throws -> Read {
        let (head, _) = try await ticket(context)
        try await tickets.markRead(head.id, reader: context.caller.userId, logger: context.logger)
        return Read()
    }

    /// Deletes a ticket and its messages (admins).
    @Sendable func delete(request: Request, context: AdminContext) async throws -> Success {
        let id = try context.parameters.uuid("ticket_id", or: .ticketNotFound)
        guard try await tickets.delete(id, by: context.caller.userId, logger: context.logger) else { throw APIError.ticketNotFound }
        return Success()
    }

    /// The whole conversation as plain text.
    @Sendable func transcript(request: Request, context: AuthenticatedContext) async throws -> Response {
        let (head, _) = try await ticket(context)
        guard try await tickets.settings(logger: context.logger).transcriptEnabled else { throw APIError.transcriptsDisabled }
        guard let ticket = try await tickets.ticket(head.id, reader: context.caller.userId, logger: context.logger) else { throw APIError.ticketNotFound }
        let messages = try await tickets.messages(of: head.id, after: nil, logger: context.logger)
        let text = Transcript.text(of: ticket, messages: messages)
        return Response(
            status: .ok,
            headers: [
                .contentType: "text/plain; charset=utf-8",
                .contentDisposition: "inline; filename=\"ticket-\(ticket.ticketId.uuidString.lowercased()).txt\"",
            ],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }
}
