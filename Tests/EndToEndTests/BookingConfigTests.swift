import AsyncHTTPClient
import Foundation
import GuildCore
import GuildTestSupport
import NIOHTTP1
import Testing

/// Booking's settings changed through nginx while it runs: prices, refunds and limits in force on
/// both replicas within a second, recorded, and refused field by field. They are the whole
/// community's, so this suite runs alone (scripts/test) and puts them back whatever happens.
@Suite("Through nginx: booking's settings at run time", .serialized, .watched)
struct BookingConfigTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    /// `GET path` on a booking replica's public listener, not through nginx.
    static func onReplica(_ replica: Int, _ path: String) async throws -> StackClient.Reply {
        let request = HTTPClientRequest(url: try StackAddresses.url(of: "booking", replica: replica) + path)
        let response = try await StackClient.client.execute(request, timeout: .seconds(15))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return StackClient.Reply(status: Int(response.status.code), headers: response.headers, body: Data(bytes.readableBytesView))
    }

    @Test func aChangeIsInForceOnBothReplicasWithinASecondAndRecorded() async throws {
        let admin = try await stack.adminToken()
        let before = try await stack.send(.GET, "/api/booking/config", token: admin)
        #expect(before.status == 200, "\(before.text)")
        let original = try before.json()
        do {
            try await changeAndWatch(admin: admin, original: original)
        } catch {
            _ = try? await stack.send(.PUT, "/api/booking/config", token: admin, raw: original.jsonText())
            throw error
        }
        let restored = try await stack.send(.PUT, "/api/booking/config", token: admin, raw: original.jsonText())
        #expect(restored.status == 200, "\(restored.text)")
    }

    func changeAndWatch(admin: String, original: JSONValue) async throws {
        let moderator = try await stack.makeUser(role: "moderator", admin: admin)
        #expect(try await stack.send(.GET, "/api/booking/config", token: moderator.token).status == 403, "admins only")
        #expect(try await stack.send(.GET, "/api/booking/config/history", token: moderator.token).status == 403, "admins only")
        #expect(try await stack.send(.GET, "/api/booking/config").status == 401)
        #expect(try await stack.send(.PUT, "/api/booking/config", token: moderator.token, raw: original.jsonText()).status == 403)

        let changed = #"""
            {"base_price":2.5,"discount_tiers":[{"from_hours":5,"percent":20},{"from_hours":20,"percent":50}],\#
            "refund_after_start":"none","horizon_days":7,"longest_booking_hours":4}
            """#
        let bad: [(String, String)] = [
            (changed.replacingOccurrences(of: #""from_hours":20"#, with: #""from_hours":5"#), "discount_tiers[1].from_hours"),
            (changed.replacingOccurrences(of: #""percent":20"#, with: #""percent":101"#), "discount_tiers[0].percent"),
            (changed.replacingOccurrences(of: #""none""#, with: #""half""#), "refund_after_start"),
            (changed.replacingOccurrences(of: "2.5", with: "-1"), "base_price"),
            (changed.replacingOccurrences(of: #""horizon_days":7"#, with: #""horizon_days":0"#), "horizon_days"),
            (changed.replacingOccurrences(of: #""longest_booking_hours":4"#, with: #""longest_booking_hours":4,"deposit":3"#), "deposit"),
            (changed.replacingOccurrences(of: #","longest_booking_hours":4"#, with: ""), "longest_booking_hours"),
        ]
        for (body, field) in bad {
            let refused = try await stack.send(.PUT, "/api/booking/config", token: admin, raw: body)
            #expect(refused.status == 400, "\(field): \(refused.text)")
            #expect(try refused.json()["error"]?["message"]?.stringValue?.hasPrefix("\(field)") == true, "\(field): \(refused.text)")
        }
        #expect(try await stack.send(.GET, "/api/booking/config", token: admin).json() == original, "a refused change changed something")

        let stored = try await stack.send(.PUT, "/api/booking/config", token: admin, raw: changed)
        #expect(stored.status == 200, "\(stored.text)")
        let changedAt = ContinuousClock.now
        // 20 hours at 2.50 is 50.00; the 50 % tier leaves 25.00.
        var inForce: [Int: Duration] = [:]
        while inForce.count < 2 && ContinuousClock.now - changedAt < .seconds(5) {
            for replica in [1, 2] where inForce[replica] == nil {
                if try await Self.onReplica(replica, "/api/booking/price?hours=20").json()["final_price"] == .number(25) {
                    inForce[replica] = ContinuousClock.now - changedAt
                }
            }
        }
        #expect(inForce.count == 2, "in force on replicas \(inForce.keys.sorted()) only")
        #expect(inForce.values.allSatisfy { $0 < .seconds(1) }, "took \(inForce)")

        let price = try await stack.send(.GET, "/api/booking/price?hours=19").json()
        #expect(price["base_price"] == .number(2.5) && price["discount_applied"] == .number(20), "\(price)")
        let start = RFC3339.format(Date().addingTimeInterval(3 * 86400))
        let far = RFC3339.format(Date().addingTimeInterval(8 * 86400))
        for replica in [1, 2] {
            let tooLong = try await Self.onReplica(replica, "/api/booking/availability?start=\(start)&duration=5")
            #expect(tooLong.status == 422 && tooLong.text.contains("booking_too_long"), "replica \(replica): \(tooLong.text)")
            let tooFar = try await Self.onReplica(replica, "/api/booking/availability?start=\(far)&duration=1")
            #expect(tooFar.status == 422 && tooFar.text.contains("booking_too_far_ahead") && tooFar.text.contains("at most 7 days ahead"), "replica \(replica): \(tooFar.text)")
            #expect(try await Self.onReplica(replica, "/api/booking/availability?start=\(start)&duration=4").status == 200)
        }
        let member = try await stack.makeUser(role: "user", admin: admin)
        let booking = #"{"service":"bo","realm":"EU","duration":5,"start_time":"\#(start)","game_name":"x"}"#
        let refused = try await stack.send(.POST, "/api/booking/bookings", token: member.token, raw: booking)
        #expect(refused.status == 422 && refused.text.contains("booking_too_long"), "\(refused.text)")

        let adminId = try await stack.send(.GET, "/api/users/me", token: admin).json()["user_id"]
        let history = try await stack.send(.GET, "/api/booking/config/history?limit=1", token: admin).json()
        let newest = history["items"]?.array?.first
        #expect(newest?["changed_by"] == adminId, "\(history)")
        #expect(try newest?["before"] == original && newest?["after"] == stored.json(), "\(history)")
        #expect(history["items"]?.array?.count == 1, "\(history)")
    }
}
