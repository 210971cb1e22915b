import Foundation
import GuildCore
import GuildTestSupport
import NIOHTTP1
import Testing

/// What the contract fuzzing (scripts/fuzz) found, kept as behaviour: bodies are taken exactly
/// as the contract describes them (no unknown fields, no `null` for a field that is not
/// nullable), every 405 names the allowed methods, and the answers are the JSON the contract says.
@Suite("the services answer as openapi.yaml says", .watched)
struct ContractConformanceTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    func makeVM(admin: String) async throws -> String {
        let id = StackClient.unique("contract")
        let reply = try await stack.send(.POST, "/api/booking/vms", token: admin, raw: #"{"id":"\#(id)","name":"Test \#(id)","region":"test","cpu":2,"memory":4}"#)
        #expect(reply.status == 201, "\(reply.text)")
        return id
    }

    @Test func aNullFieldInAChangeIsRefusedAndChangesNothing() async throws {
        let admin = try await stack.adminToken()
        let vm = try await makeVM(admin: admin)
        let reply = try await stack.send(.PATCH, "/api/booking/vms/\(vm)", token: admin, raw: #"{"memory":null,"cpu":8}"#)
        #expect(reply.status == 400, "\(reply.text)")
        #expect(try reply.errorCode() == "invalid_field")
        #expect(try reply.json()["error"]?["message"]?.stringValue?.hasPrefix("memory:") == true, "\(reply.text)")
        let after = try await stack.send(.GET, "/api/booking/vms/\(vm)")
        #expect(try after.json()["cpu"] == .number(2) && after.json()["memory"] == .number(4), "\(after.text)")
    }

    @Test func anUnknownFieldIsRefusedAndChangesNothing() async throws {
        let admin = try await stack.adminToken()
        let vm = try await makeVM(admin: admin)
        let reply = try await stack.send(.PATCH, "/api/booking/vms/\(vm)", token: admin, raw: #"{"cpu":8,"colour":"red"}"#)
        #expect(reply.status == 400, "\(reply.text)")
        #expect(try reply.json()["error"]?["message"]?.stringValue?.hasPrefix("colour:") == true, "\(reply.text)")
        #expect(try await stack.send(.GET, "/api/booking/vms/\(vm)").json()["cpu"] == .number(2))

        let tool = StackClient.unique("tool")
        let created = try await stack.send(.POST, "/api/leveling/tools", token: admin, raw: #"{"id":"\#(tool)","name":"T","unlock_level":3,"description":null}"#)
        #expect(created.status == 400, "\(created.text)")
        #expect(try created.json()["error"]?["message"]?.stringValue?.hasPrefix("description:") == true, "\(created.text)")
    }

    @Test func aNullInsideANestedObjectIsRefusedButMetadataIsTheCallers() async throws {
        let member = "9\(Int.random(in: 10_000_000_000_000_000...99_999_999_999_999_999))"
        let now = ISO8601DateFormatter().string(from: Date())
        let batch = #"{"events":[{"discord_id":"\#(member)","source":"message","occurred_at":"\#(now)","event_id":"\#(UUID())","channel_id":null}]}"#
        let refused = try await StackClient.internalPost("leveling", "/internal/leveling/events/batch", batch)
        #expect(refused.status == 400, "\(refused.text)")
        #expect(try refused.json()["error"]?["message"]?.stringValue?.hasPrefix("events[0].channel_id:") == true, "\(refused.text)")

        let unknown = #"{"events":[{"discord_id":"\#(member)","source":"message","occurred_at":"\#(now)","event_id":"\#(UUID())","colour":"red"}]}"#
        let refusedUnknown = try await StackClient.internalPost("leveling", "/internal/leveling/events/batch", unknown)
        #expect(refusedUnknown.status == 400, "\(refusedUnknown.text)")
        #expect(try refusedUnknown.json()["error"]?["message"]?.stringValue?.hasPrefix("events[0].colour:") == true, "\(refusedUnknown.text)")

        let notify = #"{"discord_id":"\#(member)","action":"renewed","metadata":{"message":42}}"#
        let wrongType = try await StackClient.internalPost("notify", "/internal/notify", notify)
        #expect(wrongType.status == 400, "\(wrongType.text)")
        #expect(try wrongType.json()["error"]?["message"]?.stringValue?.hasPrefix("metadata.message:") == true, "\(wrongType.text)")

        let report = #"{"event_type":"member_left","discord_id":"\#(member)","metadata":{"reason":null}}"#
        let accepted = try await StackClient.internalPost("auth", "/internal/events", report)
        #expect(accepted.status == 202, "\(accepted.text)")
    }

    @Test func aNullableFieldMayBeNull() async throws {
        let admin = try await stack.adminToken()
        let user = try await stack.makeUser(role: "user", admin: admin)
        let unlinked = try await stack.send(.PATCH, "/api/users/\(user.id)", token: admin, raw: #"{"discord_id":null}"#)
        #expect(unlinked.status == 200, "\(unlinked.text)")
    }

    @Test(arguments: ["/api/booking/wallet?user_id=", "/api/booking/bookings?user_id=", "/api/booking/wallet?user_id=x"])
    func anEmptyOrMalformedUserIdIsA400(path: String) async throws {
        let admin = try await stack.adminToken()
        let reply = try await stack.send(.GET, path, token: admin)
        #expect(reply.status == 400, "\(reply.text)")
        #expect(try reply.json()["error"]?["message"]?.stringValue?.hasPrefix("user_id:") == true, "\(reply.text)")
    }

    @Test func everyMethodNotAllowedNamesTheAllowedOnes() async throws {
        // nginx's own 405 (TRACE is refused before any location) …
        let trace = try await stack.send(.TRACE, "/api/booking/vms/vm0")
        #expect(trace.status == 405)
        #expect(trace.headers.first(name: "Allow") == "GET, PATCH")
        #expect(try trace.errorCode() == "method_not_allowed")
        let traceTickets = try await stack.send(.TRACE, "/api/tickets/config?x=1")
        #expect(traceTickets.headers.first(name: "Allow") == "GET, PUT")
        // … and a service's.
        let delete = try await stack.send(.DELETE, "/api/booking/stats")
        #expect(delete.status == 405)
        #expect(delete.headers.first(name: "Allow") == "GET")
    }

    @Test func verifyTokenAnswersJSON() async throws {
        let admin = try await stack.adminToken()
        for method in [HTTPMethod.GET, .POST] {
            let reply = try await stack.send(method, "/api/auth/verify-token", token: admin)
            #expect(reply.status == 200)
            #expect(reply.headers.first(name: "Content-Type")?.hasPrefix("application/json") == true)
            #expect(try reply.json() == .object(["valid": .bool(true)]), "\(reply.text)")
            #expect(reply.headers.first(name: "X-User-Role") == "admin")
        }
    }

    @Test func anIncompleteWebSocketUpgradeIsA400() async throws {
        let key = ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
        let cases: [([(String, String)], String)] = [
            ([("Upgrade", "websocket"), key], "Sec-WebSocket-Version"),
            ([("Upgrade", "websocket"), ("Sec-WebSocket-Version", "12"), key], "Sec-WebSocket-Version"),
            ([("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13"), ("Sec-WebSocket-Key", "short")], "Sec-WebSocket-Key"),
            ([], "Upgrade"),
        ]
        for (headers, named) in cases {
            let reply = try await stack.send(.GET, "/ws", headers: headers)
            #expect(reply.status == 400, "\(headers): \(reply.status) \(reply.text)")
            #expect(try reply.json()["error"]?["message"]?.stringValue?.hasPrefix("\(named):") == true, "\(reply.text)")
        }
    }
}
