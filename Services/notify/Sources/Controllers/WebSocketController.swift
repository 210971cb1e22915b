import Foundation
import GuildAuth
import GuildCore
import GuildServiceKit
import Hummingbird
import HummingbirdWebSocket
import Logging

/// `GET /ws`: the live channel of a signed-in user.
///
/// The access token comes in `?token=` or, for clients that cannot put it in the URL, in a first
/// frame `{"type":"auth","token":"..."}` within ten seconds. Frames are JSON objects with a `type`.
struct WebSocketController: Sendable {
    let verifier: TokenVerifier
    let live: LiveConnections

    func addRoutes(to router: Router<BasicWebSocketRequestContext>) {
        router.ws("/ws") { inbound, outbound, context in
            try await session(inbound: inbound, outbound: outbound, context: context)
        }
    }

    private func session(
        inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter,
        context: WebSocketRouterContext<BasicWebSocketRequestContext>
    ) async throws {
        var messages = inbound.messages(maxSize: 64 * 1024).makeAsyncIterator()
        var identity: Identity?
        if let token = context.request.uri.queryParameters["token"] {
            identity = try? await verifier.verify(String(token))
        } else {
            // A client that never authenticates is closed after ten seconds.
            let first = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await Task.sleep(for: .seconds(10))
                    try await outbound.close(.policyViolation, reason: "authentication timeout")
                }
                defer { group.cancelAll() }
                return try await messages.next()
            }
            if case .text(let text) = first, let frame = ClientFrame(text), frame.type == "auth", let token = frame.token {
                identity = try? await verifier.verify(token)
            }
        }
        guard let identity else {
            try await outbound.writeTextMessage(ServerFrame.error(code: "unauthorized", message: "a valid access token is required"))
            try await outbound.close(.policyViolation, reason: "unauthorized")
            return
        }

        let (connectionId, frames) = live.open(userId: identity.userId)
        defer { live.close(userId: identity.userId, id: connectionId) }
        try await outbound.writeTextMessage(ServerFrame.object(["type": "connection_established", "user_id": identity.userId, "role": identity.role.rawValue]))

        try await withThrowingTaskGroup(of: Void.self) { group in
            // Everything this connection sends goes through one writer task, in order.
            let (replies, replyContinuation) = AsyncStream<String>.makeStream()
            group.addTask {
                await withTaskGroup(of: Void.self) { writers in
                    writers.addTask { for await frame in frames { try? await outbound.writeTextMessage(frame) } }
                    writers.addTask { for await frame in replies { try? await outbound.writeTextMessage(frame) } }
                }
            }
            while let message = try await messages.next() {
                guard case .text(let text) = message, let frame = ClientFrame(text) else {
                    replyContinuation.yield(ServerFrame.error(code: "bad_request", message: "frames are JSON objects with a type"))
                    continue
                }
                replyContinuation.yield(reply(to: frame))
            }
            replyContinuation.finish()
            group.cancelAll()
        }
    }

    /// The answer to one client frame.
    func reply(to frame: ClientFrame) -> String {
        switch frame.type {
        case "ping":
            ServerFrame.object(["type": "pong"])
        case "auth":
            ServerFrame.error(code: "bad_request", message: "already authenticated")
        default:
            ServerFrame.error(code: "bad_request", message: "unknown frame type \(frame.type)")
        }
    }
}

/// A frame from the client.
struct ClientFrame: Decodable {
    var type: String
    var token: String?
    var ticketId: String?

    init?(_ text: String) {
        guard let frame = try? GuildJSON.decoder.decode(ClientFrame.self, from: Data(text.utf8)) else { return nil }
        self = frame
    }
}

/// Frames the server sends.
enum ServerFrame {
    /// A flat JSON object of strings.
    static func object(_ fields: [String: String]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// `{"type":"error","code":...,"message":...}`.
    static func error(code: String, message: String) -> String {
        object(["type": "error", "code": code, "message": message])
    }
}
