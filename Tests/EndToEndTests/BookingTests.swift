import Foundation
import GuildCore
import GuildPostgres
import GuildTestSupport
import NIOHTTP1
import PostgresNIO
import Testing

/// Booking through nginx against the running stack (two booking replicas).
///
/// Serialized: the tests that count free VMs must not race the ones that add VMs.
@Suite("Through nginx: hours wallet, shop and VM booking", .serialized, .watched)
struct BookingTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    // MARK: Helpers

    /// An RFC 3339 time `hours` from now, to the second.
    func time(_ hours: Double, from now: Date = Date()) -> String {
        RFC3339.format(now.addingTimeInterval(hours * 3600))
    }

    /// A VM of the test's own, so no other booking can stand in its way.
    func makeVM(admin: String) async throws -> String {
        let id = StackClient.unique("e2e")
        let reply = try await stack.send(.POST, "/api/booking/vms", token: admin, raw: #"{"id":"\#(id)","name":"Test \#(id)","region":"test","cpu":2,"memory":4}"#)
        #expect(reply.status == 201, "\(reply.text)")
        return id
    }

    /// A user with `hours` granted by the admin.
    func fundedUser(hours: Int, admin: String) async throws -> StackClient.TestUser {
        let user = try await stack.makeUser(role: "user", admin: admin)
        let grant = try await stack.send(.POST, "/api/booking/admin/grant", token: admin, raw: #"{"user_id":"\#(user.id)","hours":\#(hours),"reason":"test funds"}"#)
        #expect(grant.status == 200, "\(grant.text)")
        return user
    }

    func book(_ token: String, vm: String?, start: String, duration: Int, service: String = "bo", key: String? = nil) async throws -> StackClient.Reply {
        let vmField = vm.map { #","vm_id":"\#($0)""# } ?? ""
        return try await stack.send(
            .POST, "/api/booking/bookings", token: token, headers: key.map { [("Idempotency-Key", $0)] } ?? [],
            raw: #"{"service":"\#(service)","realm":"EU-Draenor","duration":\#(duration),"start_time":"\#(start)","game_name":"Hero"\#(vmField)}"#
        )
    }

    func balance(_ token: String) async throws -> Int {
        let reply = try await stack.send(.GET, "/api/booking/wallet", token: token)
        #expect(reply.status == 200, "\(reply.text)")
        return try reply.json()["hours_balance"]?.int ?? -1
    }

    func booking(_ id: String, token: String) async throws -> JSONValue {
        try await stack.send(.GET, "/api/booking/bookings/\(id)", token: token).json()
    }

    /// Moves a booking `hours` back in time, as if that much time had passed.
    func shift(_ bookingId: String, hoursBack hours: Double) async throws {
        let seconds = hours * 3600
        guard let id = UUID(uuidString: bookingId) else { throw StackClient.Failure(message: "not a booking id: \(bookingId)") }
        try await withStackDatabase(schema: "booking") { postgres in
            _ = try await postgres.query(
                """
                UPDATE bookings SET start_time = start_time - make_interval(secs => \(seconds)),
                                    end_time = end_time - make_interval(secs => \(seconds))
                WHERE id = \(id)
                """,
                logger: e2eLogger
            )
        }
    }

    /// Invariants over the whole booking schema: no two live bookings overlap on a VM, every
    /// wallet's balance is the sum of its ledger, and no balance is negative.
    func checkInvariants() async throws {
        try await withStackDatabase(schema: "booking") { postgres in
            let overlaps = try await postgres.query(
                """
                SELECT count(*) FROM bookings a JOIN bookings b ON a.vm_id = b.vm_id AND a.id < b.id AND a.period && b.period
                WHERE a.status <> 'cancelled' AND b.status <> 'cancelled'
                """,
                logger: e2eLogger
            ).decode(Int.self).first { _ in true }
            #expect(overlaps == 0, "overlapping bookings on one VM")
            let mismatched = try await postgres.query(
                """
                SELECT count(*) FROM wallets w
                WHERE w.balance < 0 OR w.balance <> (SELECT coalesce(sum(delta), 0) FROM ledger l WHERE l.user_id = w.user_id)
                """,
                logger: e2eLogger
            ).decode(Int.self).first { _ in true }
            #expect(mismatched == 0, "a wallet's balance differs from the sum of its ledger")
        }
    }

    // MARK: The user's flow

    @Test func aUserBuysBooksListsAndCancelsForAFullRefund() async throws {
        let admin = try await stack.adminToken()
        let user = try await stack.makeUser(role: "user", admin: admin)
        let vm = try await makeVM(admin: admin)

        let bought = try await stack.send(.POST, "/api/booking/shop/buy", token: user.token, headers: [("Idempotency-Key", UUID().uuidString)], raw: #"{"pack_id":"pack_10"}"#)
        #expect(bought.status == 200, "\(bought.text)")
        #expect(try bought.json()["success"] == .bool(true))
        #expect(try bought.json()["hours_added"]?.int == 10)
        #expect(try bought.json()["new_balance"]?.int == 10)

        let start = time(2)
        let created = try await book(user.token, vm: vm, start: start, duration: 3)
        #expect(created.status == 201, "\(created.text)")
        let made = try created.json()
        let id = made["id"]?.stringValue ?? ""
        #expect(made["status"] == .string("scheduled"))
        #expect(made["vm_id"] == .string(vm))
        #expect(made["user_id"] == .string(user.id))
        #expect(made["start_time"] == .string(start))
        #expect(made["end_time"] == .string(time(5, from: RFC3339.parse(start)!.addingTimeInterval(-2 * 3600))))
        #expect(made["hours_charged"]?.int == 3)
        #expect(made["refund_if_cancelled"]?.int == 3, "before the start every hour would come back")
        #expect(try await balance(user.token) == 7)

        let listed = try await stack.send(.GET, "/api/booking/bookings", token: user.token)
        #expect(listed.status == 200)
        #expect(try listed.json()["items"]?[0]?["id"] == .string(id))
        #expect(try listed.json()["items"]?[0]?["refund_if_cancelled"]?.int == 3)
        #expect(try listed.json()["next_cursor"] == .null)
        #expect(try await booking(id, token: user.token)["game_name"] == .string("Hero"))

        // Public reads show a booking on every replica within a second.
        let taken = try await eventually(timeout: .seconds(1), every: .milliseconds(20)) {
            let window = try await stack.send(.GET, "/api/booking/availability?start=\(start)&duration=1")
            return try window.json()["vms"].map { vms in !(vms.array ?? []).contains { $0["id"] == .string(vm) } } == true
        }
        #expect(taken, "a booked VM shows as free")

        // The public schedule shows the VM taken for exactly the booking's window, and says by whom to no one.
        let schedule = try await stack.send(.GET, "/api/booking/schedule?start=\(time(0))&hours=24")
        #expect(schedule.status == 200, "\(schedule.text)")
        let row = try schedule.json()["vms"]?.array?.first { $0["id"] == .string(vm) }
        #expect(row?["taken"]?.array?.map { [$0["start_time"], $0["end_time"]] } == [[.string(start), made["end_time"]]], "\(schedule.text)")
        #expect(!schedule.text.contains(user.id) && !schedule.text.contains("Hero"))
        #expect(try await stack.send(.GET, "/api/booking/schedule?start=\(time(10))&hours=1").json()["vms"]?.array?.first { $0["id"] == .string(vm) }?["taken"] == .array([]))
        for bad in ["", "?start=tomorrow", "?start=\(time(0))&hours=0", "?start=\(time(0))&hours=169", "?start=\(time(0))&hours=1&hours=2"] {
            let refused = try await stack.send(.GET, "/api/booking/schedule\(bad)")
            #expect(refused.status == 400, "\(bad): \(refused.text)")
        }

        let cancelled = try await stack.send(.POST, "/api/booking/bookings/\(id)/cancel", token: user.token)
        #expect(cancelled.status == 200, "\(cancelled.text)")
        #expect(try cancelled.json()["status"] == .string("cancelled"))
        #expect(try cancelled.json()["hours_refunded"]?.int == 3)
        #expect(try await balance(user.token) == 10)
        #expect(try cancelled.json()["refund_if_cancelled"] == .null, "a cancelled booking cannot be cancelled again")
        #expect(try await booking(id, token: user.token)["refund_if_cancelled"] == .null)

        let again = try await stack.send(.POST, "/api/booking/bookings/\(id)/cancel", token: user.token)
        #expect(again.status == 409)
        #expect(try again.errorCode() == "booking_not_cancellable")
        #expect(try await balance(user.token) == 10, "a second cancel refunded again")

        let wallet = try await stack.send(.GET, "/api/booking/wallet", token: user.token).json()
        #expect(wallet["transactions"]?.array?.map { $0["kind"]?.stringValue ?? "" } == ["refund", "booking", "purchase"])
        #expect(wallet["transactions"]?.array?.map { $0["hours"]?.int ?? 0 } == [3, -3, 10])
        #expect(wallet["transactions"]?[0]?["booking_id"] == .string(id))

        let freed = try await book(user.token, vm: vm, start: start, duration: 3)
        #expect(freed.status == 201, "a cancelled booking still holds its slot: \(freed.text)")
        try await checkInvariants()
    }

    @Test func aRetriedPurchaseAddsHoursOnce() async throws {
        let admin = try await stack.adminToken()
        let user = try await stack.makeUser(role: "user", admin: admin)
        let key = UUID().uuidString
        let first = try await stack.send(.POST, "/api/booking/shop/buy", token: user.token, headers: [("Idempotency-Key", key)], raw: #"{"pack_id":"pack_25"}"#)
        #expect(first.status == 200, "\(first.text)")
        let retry = try await stack.send(.POST, "/api/booking/shop/buy", token: user.token, headers: [("Idempotency-Key", key)], raw: #"{"pack_id":"pack_25"}"#)
        #expect(retry.status == 200)
        #expect(retry.headers.first(name: "Idempotent-Replayed") == "true")
        #expect(try retry.json()["transaction_id"] == first.json()["transaction_id"])
        #expect(try await balance(user.token) == 25)

        let otherPack = try await stack.send(.POST, "/api/booking/shop/buy", token: user.token, headers: [("Idempotency-Key", key)], raw: #"{"pack_id":"pack_10"}"#)
        #expect(otherPack.status == 422)
        #expect(try otherPack.errorCode() == "idempotency_key_reused")

        // Ten concurrent retries of one new purchase: one purchase, ten identical answers.
        let storm = UUID().uuidString
        let replies = try await withThrowingTaskGroup(of: StackClient.Reply.self) { group in
            for _ in 0..<10 {
                group.addTask {
                    try await stack.send(.POST, "/api/booking/shop/buy", token: user.token, headers: [("Idempotency-Key", storm)], raw: #"{"pack_id":"pack_50"}"#)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(replies.map(\.status) == Array(repeating: 200, count: 10), "\(replies.map(\.text))")
        #expect(Set(try replies.map { try $0.json()["transaction_id"]?.stringValue ?? "" }).count == 1)
        #expect(try await balance(user.token) == 75)

        // Another user's identical key is theirs alone.
        let other = try await stack.makeUser(role: "user", admin: admin)
        let theirs = try await stack.send(.POST, "/api/booking/shop/buy", token: other.token, headers: [("Idempotency-Key", key)], raw: #"{"pack_id":"pack_25"}"#)
        #expect(theirs.status == 200)
        #expect(theirs.headers.first(name: "Idempotent-Replayed") == nil)
        #expect(try await balance(other.token) == 25)
        try await checkInvariants()
    }

    // MARK: Concurrency

    @Test func aStormOfRequestsForOneSlotHasExactlyOneWinner() async throws {
        let admin = try await stack.adminToken()
        let vm = try await makeVM(admin: admin)
        var users: [StackClient.TestUser] = []
        for _ in 0..<8 { users.append(try await fundedUser(hours: 10, admin: admin)) }
        let start = time(24)
        let requests = users.flatMap { user in Array(repeating: user, count: 4) }
        let replies = try await withThrowingTaskGroup(of: (String, StackClient.Reply).self) { group in
            for user in requests {
                group.addTask { (user.id, try await book(user.token, vm: vm, start: start, duration: 4)) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let winners = replies.filter { $0.1.status == 201 }
        #expect(winners.count == 1, "\(replies.map { $0.1.status })")
        #expect(replies.filter { $0.1.status == 409 }.count == requests.count - 1, "\(replies.map { $0.1.text })")
        #expect(try replies.filter { $0.1.status == 409 }.allSatisfy { try $0.1.errorCode() == "slot_taken" })
        for user in users {
            #expect(try await balance(user.token) == (user.id == winners.first?.0 ? 6 : 10), "hours of a loser were kept or of the winner lost")
        }
        try await checkInvariants()
    }

    @Test func concurrentRequestsWithoutAVMFillEveryFreeVMOnce() async throws {
        let admin = try await stack.adminToken()
        // A window no other test books: some day 100 to 170 days ahead.
        let start = time(Double(24 * Int.random(in: 100...170) + Int.random(in: 0...23)))
        let window = try await stack.send(.GET, "/api/booking/availability?start=\(start)&duration=2")
        #expect(window.status == 200, "\(window.text)")
        let free = try window.json()["count"]?.int ?? 0
        #expect(free >= 5)
        let users = try await withThrowingTaskGroup(of: StackClient.TestUser.self) { group in
            for _ in 0..<(free + 4) { group.addTask { try await fundedUser(hours: 2, admin: admin) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let replies = try await withThrowingTaskGroup(of: StackClient.Reply.self) { group in
            for user in users { group.addTask { try await book(user.token, vm: nil, start: start, duration: 2) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let made = try replies.filter { $0.status == 201 }.map { try $0.json()["vm_id"]?.stringValue ?? "" }
        #expect(made.count == free, "\(replies.map(\.text))")
        #expect(Set(made).count == made.count, "two bookings got the same VM")
        #expect(try replies.filter { $0.status != 201 }.map { try $0.errorCode() } == Array(repeating: "no_vm_available", count: 4))
        #expect(try await eventually(timeout: .seconds(1), every: .milliseconds(20)) {
            try await stack.send(.GET, "/api/booking/availability?start=\(start)&duration=2").json()["count"]?.int == 0
        })
        try await checkInvariants()
    }

    @Test func aShortBalanceIs422AndChangesNothing() async throws {
        let admin = try await stack.adminToken()
        let user = try await fundedUser(hours: 2, admin: admin)
        let vm = try await makeVM(admin: admin)
        let reply = try await book(user.token, vm: vm, start: time(3), duration: 3)
        #expect(reply.status == 422, "\(reply.text)")
        #expect(try reply.errorCode() == "insufficient_hours")
        #expect(try await balance(user.token) == 2)
        #expect(try await stack.send(.GET, "/api/booking/bookings", token: user.token).json()["items"] == .array([]))
        // The slot stayed free.
        let rich = try await fundedUser(hours: 3, admin: admin)
        #expect(try await book(rich.token, vm: vm, start: time(3), duration: 3).status == 201)
    }

    @Test func aRetriedBookingIsMadeAndChargedOnce() async throws {
        let admin = try await stack.adminToken()
        let user = try await fundedUser(hours: 10, admin: admin)
        let vm = try await makeVM(admin: admin)
        let key = UUID().uuidString
        let start = time(6)
        let first = try await book(user.token, vm: vm, start: start, duration: 2, key: key)
        #expect(first.status == 201, "\(first.text)")
        let retry = try await book(user.token, vm: vm, start: start, duration: 2, key: key)
        #expect(retry.status == 201, "\(retry.text)")
        #expect(try retry.json()["id"] == first.json()["id"])
        #expect(try await balance(user.token) == 8)
    }

    // MARK: Lifecycle and events

    @Test func bookingsStartAndEndOnTimeOnceWithTheirEvents() async throws {
        let admin = try await stack.adminToken()
        let user = try await fundedUser(hours: 10, admin: admin)
        let vm = try await makeVM(admin: admin)
        let socket = try await LiveSocket.open(token: user.token)
        try await withEventLog(types: [EventType.bookingStarted, EventType.bookingEnded]) { events in
            let created = try await book(user.token, vm: vm, start: time(1), duration: 2)
            #expect(created.status == 201, "\(created.text)")
            let id = try created.json()["id"]?.stringValue ?? ""

            try await shift(id, hoursBack: 1 + 10.0 / 3600)  // started ten seconds ago
            let started = try await eventually(timeout: .seconds(60)) {
                try await booking(id, token: user.token)["status"] == .string("active") && !events.events(EventType.bookingStarted, bookingId: id).isEmpty
            }
            #expect(started, "the booking did not become active with a booking.started event")
            #expect(try await eventually(timeout: .seconds(1), every: .milliseconds(20)) {
                try await stack.send(.GET, "/api/booking/vms/\(vm)").json()["current_booking"]?["id"] == .string(id)
            })

            try await shift(id, hoursBack: 2)  // ended ten seconds ago
            let ended = try await eventually(timeout: .seconds(60)) {
                try await booking(id, token: user.token)["status"] == .string("completed") && !events.events(EventType.bookingEnded, bookingId: id).isEmpty
            }
            #expect(ended, "the booking did not complete with a booking.ended event")

            // Two replicas run the lifecycle: each transition went out exactly once. The marker is a
            // second booking of the owner's that starts only now: a later round of the job (on
            // whichever replica) starts it, its booking.started reaches this log on the channel the
            // first booking's events came on, and its booking_started reaches the socket through the
            // same inbox consumers and live channel; a repeat of a first booking's transition would
            // have come in that round or before it.
            let next = try await book(user.token, vm: vm, start: time(3), duration: 1)
            #expect(next.status == 201, "\(next.text)")
            let nextId = try #require(try next.json()["id"]?.stringValue)
            try await shift(nextId, hoursBack: 3 + 10.0 / 3600)  // started ten seconds ago
            let marked = await eventually(timeout: .seconds(60)) {
                !events.events(EventType.bookingStarted, bookingId: nextId).isEmpty
                    && socket.frames("booking_started").contains { $0["booking_id"] == .string(nextId) }
            }
            #expect(marked, "the second booking did not start with its event and frame: \(socket.frames)")
            #expect(events.events(EventType.bookingStarted, bookingId: id).count == 1)
            #expect(events.events(EventType.bookingEnded, bookingId: id).count == 1)
            // The owner hears of both on their sockets, once each, and finds them in the inbox.
            for type in ["booking_started", "booking_ended"] {
                #expect(socket.frames(type).filter { $0["booking_id"] == .string(id) }.count == 1, "\(type): \(socket.frames)")
                #expect(socket.frames(type).first?["vm_id"] == .string(vm))
            }
            let inbox = try await stack.send(.GET, "/api/notifications", token: user.token).json()["items"]?.array ?? []
            let kinds = Set(inbox.compactMap { $0["kind"]?.stringValue })
            #expect(kinds.contains("booking_started") && kinds.contains("booking_ended"), "\(inbox)")
            let event = events.events(EventType.bookingStarted, bookingId: id).first
            #expect(event?.userId == user.id)
            #expect(event?.data["vm_id"] == .string(vm))
            let outboxed = try await withStackDatabase(schema: "booking") { postgres in
                try await postgres.query(
                    "SELECT count(*) FROM outbox WHERE data->>'booking_id' = \(id) AND type IN ('booking.started', 'booking.ended')", logger: e2eLogger
                ).decode(Int.self).first { _ in true }
            }
            #expect(outboxed == 2)

            let late = try await stack.send(.POST, "/api/booking/bookings/\(id)/cancel", token: user.token)
            #expect(late.status == 409)
            #expect(try await balance(user.token) == 7, "two hours for the booking, one for the marker")
        }
    }

    @Test func cancellingAfterTheStartRefundsTheUnusedWholeHours() async throws {
        let admin = try await stack.adminToken()
        let user = try await fundedUser(hours: 10, admin: admin)
        let vm = try await makeVM(admin: admin)
        try await withEventLog(types: [EventType.bookingCancelled]) { events in
            let created = try await book(user.token, vm: vm, start: time(1), duration: 3)
            let id = try created.json()["id"]?.stringValue ?? ""
            try await shift(id, hoursBack: 1.5)  // half an hour into three hours: two whole hours unused
            #expect(try await booking(id, token: user.token)["refund_if_cancelled"]?.int == 2, "what a cancel would give back, shown before it")
            let cancelled = try await stack.send(.POST, "/api/booking/bookings/\(id)/cancel", token: user.token)
            #expect(cancelled.status == 200, "\(cancelled.text)")
            #expect(try cancelled.json()["hours_refunded"]?.int == 2)
            #expect(try await balance(user.token) == 9)
            let seen = await eventually(timeout: .seconds(60)) { !events.events(EventType.bookingCancelled, bookingId: id).isEmpty }
            #expect(seen, "no booking.cancelled event")
            #expect(events.events(EventType.bookingCancelled, bookingId: id).first?.data["hours_refunded"] == .number(2))
        }
    }

    // MARK: VMs, catalogue, roles

    @Test func maintenanceReportsAffectedBookingsAndRefusesNewOnes() async throws {
        let admin = try await stack.adminToken()
        let user = try await fundedUser(hours: 10, admin: admin)
        let vm = try await makeVM(admin: admin)
        let id = try await book(user.token, vm: vm, start: time(4), duration: 2).json()["id"]?.stringValue ?? ""

        let changed = try await stack.send(.PATCH, "/api/booking/vms/\(vm)", token: admin, raw: #"{"status":"maintenance"}"#)
        #expect(changed.status == 200, "\(changed.text)")
        #expect(try changed.json()["vm"]?["status"] == .string("maintenance"))
        #expect(try changed.json()["affected_bookings"]?.array?.map { $0["id"] } == [.string(id)])
        #expect(try await booking(id, token: user.token)["status"] == .string("scheduled"), "maintenance touched a booking")

        let refused = try await book(user.token, vm: vm, start: time(10), duration: 1)
        #expect(refused.status == 409)
        #expect(try refused.errorCode() == "vm_in_maintenance")
        #expect(try await eventually(timeout: .seconds(1), every: .milliseconds(20)) {
            let window = try await stack.send(.GET, "/api/booking/availability?start=\(time(10))&duration=1").json()
            return !(window["vms"]?.array ?? []).contains { $0["id"] == .string(vm) }
        })

        let back = try await stack.send(.PATCH, "/api/booking/vms", token: admin, raw: #"{"id":"\#(vm)","status":"online"}"#)
        #expect(back.status == 200, "\(back.text)")
        #expect(try await book(user.token, vm: vm, start: time(10), duration: 1).status == 201)
        #expect(try await stack.send(.PATCH, "/api/booking/vms/no-such-vm", token: admin, raw: #"{"status":"online"}"#).status == 404)
        #expect(try await stack.send(.POST, "/api/booking/vms", token: admin, raw: #"{"id":"\#(vm)","name":"x","region":"x","cpu":1,"memory":1}"#).status == 409)
    }

    @Test func theSeededCatalogueIsPublicAndAdminsChangeIt() async throws {
        let services = try await stack.send(.GET, "/api/booking/services")
        #expect(services.status == 200)
        let ids = Set(try services.json().array?.compactMap { $0["id"]?.stringValue } ?? [])
        #expect(ids.isSuperset(of: ["ench", "bo", "kd", "boss"]))
        let packs = try await stack.send(.GET, "/api/booking/shop/packs").json().array ?? []
        let packHours = Set(packs.compactMap { $0["hours"]?.int })
        #expect(packHours.isSuperset(of: [10, 25, 50]))
        let vms = try await stack.send(.GET, "/api/booking/vms").json().array ?? []
        let vmIds = Set(vms.compactMap { $0["id"]?.stringValue })
        #expect(vmIds.isSuperset(of: ["vm0", "vm1", "vm2", "vm3", "vm4"]))
        let stats = try await stack.send(.GET, "/api/booking/stats").json()
        #expect((stats["total_servers"]?.int ?? 0) >= 5)
        #expect(stats["available_servers"]?.int != nil && stats["active_bookings"]?.int != nil && stats["total_players"]?.int != nil)

        let price = try await stack.send(.GET, "/api/booking/price?hours=10&service=boss")
        #expect(price.status == 200, "\(price.text)")
        #expect(try price.json() == .object([
            "base_price": .number(3), "hours": .number(10), "total_price": .number(30), "discount_applied": .number(10), "final_price": .number(27),
        ]))
        #expect(try await stack.send(.GET, "/api/booking/price?hours=9&service=ench").json()["discount_applied"] == .number(0))
        // Without a service, the estimate is at the base rate (1.00 per hour unless configured).
        let base = try await stack.send(.GET, "/api/booking/price?hours=12")
        #expect(base.status == 200, "\(base.text)")
        #expect(try base.json() == .object([
            "base_price": .number(1), "hours": .number(12), "total_price": .number(12), "discount_applied": .number(10), "final_price": .number(10.8),
        ]))

        let admin = try await stack.adminToken()
        let serviceId = StackClient.unique("svc")
        let added = try await stack.send(.POST, "/api/booking/services", token: admin, raw: #"{"id":"\#(serviceId)","type":"RAID","name":"Raid","price_per_hour":4.5}"#)
        #expect(added.status == 201, "\(added.text)")
        let closed = try await stack.send(.PATCH, "/api/booking/services/\(serviceId)", token: admin, raw: #"{"available":false,"price_per_hour":5}"#)
        #expect(try closed.json()["price_per_hour"] == .number(5))
        let user = try await fundedUser(hours: 5, admin: admin)
        let refused = try await book(user.token, vm: nil, start: time(30), duration: 1, service: serviceId)
        #expect(refused.status == 409)
        #expect(try refused.errorCode() == "service_unavailable")

        let packId = StackClient.unique("pack")
        #expect(try await stack.send(.POST, "/api/booking/shop/packs", token: admin, raw: #"{"id":"\#(packId)","name":"Trial","hours":3,"price":2.5}"#).status == 201)
        // Public reads show a change on every replica within a second (at once on the one that made it).
        #expect(try await eventually(timeout: .seconds(1), every: .milliseconds(20)) {
            try await stack.send(.GET, "/api/booking/shop/packs").json().array?.contains { $0["id"] == .string(packId) } == true
        })
        #expect(try await stack.send(.PATCH, "/api/booking/shop/packs/\(packId)", token: admin, raw: #"{"active":false}"#).status == 200)
        #expect(try await eventually(timeout: .seconds(1), every: .milliseconds(20)) {
            try await stack.send(.GET, "/api/booking/shop/packs").json().array?.contains { $0["id"] == .string(packId) } == false
        })
        let retired = try await stack.send(.POST, "/api/booking/shop/buy", token: user.token, raw: #"{"pack_id":"\#(packId)"}"#)
        #expect(retired.status == 404)
        #expect(try retired.errorCode() == "pack_not_found")
        // Admins still see the retired pack, to put it back on sale; no one else lists them.
        let every = try await stack.send(.GET, "/api/booking/admin/packs", token: admin)
        #expect(try every.json().array?.first { $0["id"] == .string(packId) }?["active"] == .bool(false), "\(every.text)")
        #expect(try await stack.send(.GET, "/api/booking/admin/packs", token: user.token).status == 403)
        #expect(try await stack.send(.GET, "/api/booking/admin/packs").status == 401)
    }

    @Test func roleRulesHoldOnEveryBookingRoute() async throws {
        let admin = try await stack.adminToken()
        let owner = try await fundedUser(hours: 10, admin: admin)
        let stranger = try await stack.makeUser(role: "user", admin: admin)
        let moderator = try await stack.makeUser(role: "moderator", admin: admin)
        let vm = try await makeVM(admin: admin)
        let id = try await book(owner.token, vm: vm, start: time(8), duration: 1).json()["id"]?.stringValue ?? ""

        // Without a token nginx refuses every gated route with a JSON 401.
        for (method, path) in [(HTTPMethod.POST, "/api/booking/bookings"), (.GET, "/api/booking/wallet"), (.POST, "/api/booking/vms"), (.PATCH, "/api/booking/vms/vm0")] {
            let reply = try await stack.send(method, path, raw: "{}")
            #expect(reply.status == 401, "\(method) \(path)")
            #expect(try reply.errorCode() == "unauthorized")
        }

        // A stranger sees nothing of another's booking and changes nothing.
        #expect(try await stack.send(.GET, "/api/booking/bookings/\(id)", token: stranger.token).status == 404)
        #expect(try await stack.send(.POST, "/api/booking/bookings/\(id)/cancel", token: stranger.token).status == 404)
        #expect(try await stack.send(.GET, "/api/booking/bookings?user_id=\(owner.id)", token: stranger.token).status == 403)
        #expect(try await stack.send(.GET, "/api/booking/bookings?all=true", token: stranger.token).status == 403)
        #expect(try await stack.send(.GET, "/api/booking/wallet?user_id=\(owner.id)", token: stranger.token).status == 403)
        // A user_id that is empty or not a user id is refused, never ignored.
        for query in ["user_id=", "user_id=not-a-user"] {
            for path in ["/api/booking/bookings", "/api/booking/wallet"] {
                let reply = try await stack.send(.GET, "\(path)?\(query)", token: owner.token)
                #expect(reply.status == 400, "\(path)?\(query): \(reply.text)")
                #expect(try reply.errorCode() == "invalid_field")
            }
        }
        #expect(try await stack.send(.POST, "/api/booking/admin/grant", token: stranger.token, raw: #"{"user_id":"\#(stranger.id)","hours":5,"reason":"me"}"#).status == 403)
        #expect(try await stack.send(.POST, "/api/booking/vms", token: stranger.token, raw: #"{"id":"x1","name":"x","region":"x","cpu":1,"memory":1}"#).status == 403)
        #expect(try await stack.send(.PATCH, "/api/booking/vms/\(vm)", token: stranger.token, raw: #"{"status":"maintenance"}"#).status == 403)
        #expect(try await stack.send(.PATCH, "/api/booking/services/bo", token: stranger.token, raw: #"{"available":false}"#).status == 403)
        #expect(try await stack.send(.POST, "/api/booking/shop/packs", token: stranger.token, raw: #"{"id":"x1","name":"x","hours":1,"price":1}"#).status == 403)

        // A moderator reads bookings and wallets but neither cancels nor grants.
        #expect(try await stack.send(.GET, "/api/booking/bookings/\(id)", token: moderator.token).status == 200)
        let byUser = try await stack.send(.GET, "/api/booking/bookings?user_id=\(owner.id)", token: moderator.token)
        #expect(try byUser.json()["items"]?.array?.map { $0["id"] } == [.string(id)])
        #expect(try await stack.send(.GET, "/api/booking/bookings?all=true", token: moderator.token).status == 200)
        #expect(try await stack.send(.GET, "/api/booking/wallet?user_id=\(owner.id)", token: moderator.token).json()["hours_balance"]?.int == 9)
        #expect(try await stack.send(.POST, "/api/booking/bookings/\(id)/cancel", token: moderator.token).status == 403)
        #expect(try await stack.send(.POST, "/api/booking/admin/grant", token: moderator.token, raw: #"{"user_id":"\#(owner.id)","hours":5,"reason":"x"}"#).status == 403)
        #expect(try await balance(owner.token) == 9)

        // An admin cancels anyone's booking; the refund goes to the owner.
        let cancelled = try await stack.send(.POST, "/api/booking/bookings/\(id)/cancel", token: admin)
        #expect(cancelled.status == 200, "\(cancelled.text)")
        #expect(try await balance(owner.token) == 10)
    }

    /// auth owns the accounts: booking asks it before hours go to a user id.
    @Test func hoursGoOnlyToAccountsThatExist() async throws {
        let admin = try await stack.adminToken()
        let nobody = UUID().uuidString.lowercased()
        let refused = try await stack.send(.POST, "/api/booking/admin/grant", token: admin, raw: #"{"user_id":"\#(nobody)","hours":5,"reason":"typo"}"#)
        #expect(refused.status == 404, "\(refused.text)")
        #expect(try refused.errorCode() == "user_not_found")
        let stored = try await withStackDatabase(schema: "booking") { postgres in
            try await postgres.query(
                "SELECT (SELECT count(*) FROM wallets WHERE user_id = \(UUID(uuidString: nobody)!)) + (SELECT count(*) FROM ledger WHERE user_id = \(UUID(uuidString: nobody)!))",
                logger: e2eLogger
            ).decode(Int.self).first { _ in true }
        }
        #expect(stored == 0, "a refused grant left rows behind")

        // A real account still gets its hours.
        let user = try await stack.makeUser(role: "user", admin: admin)
        let granted = try await stack.send(.POST, "/api/booking/admin/grant", token: admin, raw: #"{"user_id":"\#(user.id)","hours":5,"reason":"welcome"}"#)
        #expect(granted.status == 200, "\(granted.text)")
        #expect(try await balance(user.token) == 5)
    }

    @Test func malformedInputIsA400NamingTheFieldAndChangesNothing() async throws {
        let admin = try await stack.adminToken()
        let user = try await fundedUser(hours: 10, admin: admin)
        let vm = try await makeVM(admin: admin)
        let start = time(5)
        let cases: [(String, Int, String)] = [
            ("not json", 400, "malformed_body"),
            ("", 400, "malformed_body"),
            ("[]", 400, "invalid_field"),
            (#"{"realm":"EU","duration":2,"start_time":"\#(start)","game_name":"x"}"#, 400, "invalid_field"),
            (#"{"service":"bo","realm":"EU","duration":0,"start_time":"\#(start)","game_name":"x"}"#, 400, "invalid_field"),
            (#"{"service":"bo","realm":"EU","duration":73,"start_time":"\#(start)","game_name":"x"}"#, 422, "booking_too_long"),
            (#"{"service":"bo","realm":"EU","duration":721,"start_time":"\#(start)","game_name":"x"}"#, 400, "invalid_field"),
            (#"{"service":"bo","realm":"EU","duration":1.5,"start_time":"\#(start)","game_name":"x"}"#, 400, "invalid_field"),
            (#"{"service":"bo","realm":"EU","duration":"2","start_time":"\#(start)","game_name":"x"}"#, 400, "invalid_field"),
            (#"{"service":"bo","realm":"EU","duration":2,"start_time":"\#(time(-1))","game_name":"x"}"#, 400, "invalid_field"),
            (#"{"service":"bo","realm":"EU","duration":2,"start_time":"\#(time(181 * 24))","game_name":"x"}"#, 422, "booking_too_far_ahead"),
            (#"{"service":"bo","realm":"EU","duration":2,"start_time":"tomorrow","game_name":"x"}"#, 400, "invalid_field"),
            (#"{"service":"bo","realm":"","duration":2,"start_time":"\#(start)","game_name":"x"}"#, 400, "invalid_field"),
            (#"{"service":"bo","realm":"EU\u0000","duration":2,"start_time":"\#(start)","game_name":"x"}"#, 400, "invalid_field"),
            (#"{"service":"bo","realm":"EU","duration":2,"start_time":"\#(start)","game_name":"\#(String(repeating: "x", count: 65))"}"#, 400, "invalid_field"),
            (#"{"service":"BO'; DROP TABLE bookings;--","realm":"EU","duration":2,"start_time":"\#(start)","game_name":"x"}"#, 400, "invalid_field"),
            (#"{"service":"nope","realm":"EU","duration":2,"start_time":"\#(start)","game_name":"x"}"#, 404, "service_not_found"),
            (#"{"service":"bo","realm":"EU","duration":2,"start_time":"\#(start)","game_name":"x","vm_id":"vm-nope"}"#, 404, "vm_not_found"),
            (#"{"service":"bo","realm":"EU","duration":2,"start_time":"\#(start)","game_name":"x","vm_id":7}"#, 400, "invalid_field"),
        ]
        for (body, status, code) in cases {
            let reply = try await stack.send(.POST, "/api/booking/bookings", token: user.token, raw: body)
            #expect(reply.status == status, "\(body) → \(reply.text)")
            #expect(try reply.errorCode() == code, "\(body) → \(reply.text)")
        }
        let named = try await book(user.token, vm: vm, start: start, duration: 99)
        #expect(try named.json()["error"]?["message"]?.stringValue?.hasPrefix("duration") == true, "\(named.text)")

        let elsewhere: [(HTTPMethod, String, String?, Int)] = [
            (.POST, "/api/booking/shop/buy", #"{"pack_id":5}"#, 400),
            (.POST, "/api/booking/shop/buy", #"{"pack_id":"no-such-pack"}"#, 404),
            (.POST, "/api/booking/admin/grant", #"{"user_id":"nobody","hours":5,"reason":"x"}"#, 400),
            (.POST, "/api/booking/admin/grant", #"{"user_id":"\#(user.id)","hours":0,"reason":"x"}"#, 400),
            (.POST, "/api/booking/admin/grant", #"{"user_id":"\#(user.id)","hours":-11,"reason":"x"}"#, 422),
            (.GET, "/api/booking/price?hours=0&service=bo", nil, 400),
            (.GET, "/api/booking/price?hours=1001&service=bo", nil, 400),
            (.GET, "/api/booking/price?hours=abc&service=bo", nil, 400),
            (.GET, "/api/booking/price?hours=5&service=nope", nil, 404),
            (.GET, "/api/booking/availability?start=yesterday&duration=1", nil, 400),
            (.GET, "/api/booking/availability?start=\(start)&duration=100", nil, 422),
            (.GET, "/api/booking/availability?start=\(start)&duration=721", nil, 400),
            (.GET, "/api/booking/availability?start=\(start)", nil, 400),
            (.GET, "/api/booking/bookings?status=lost", nil, 400),
            (.GET, "/api/booking/bookings?limit=500", nil, 400),
            (.GET, "/api/booking/bookings?cursor=xyz", nil, 400),
            (.GET, "/api/booking/bookings/not-a-uuid", nil, 404),
            (.GET, "/api/booking/bookings/\(UUID().uuidString)", nil, 404),
            (.POST, "/api/booking/bookings/\(UUID().uuidString)/cancel", nil, 404),
            (.GET, "/api/booking/vms/%00", nil, 400),  // nginx refuses the URI itself, in JSON
            (.POST, "/api/booking/shop/buy", #"{"pack_id":"pack_10"}"#, 400),  // with a malformed Idempotency-Key below
        ]
        for (index, (method, path, body, status)) in elsewhere.enumerated() {
            let token = path.contains("admin/grant") ? admin : user.token
            let headers = index == elsewhere.count - 1 ? [("Idempotency-Key", String(repeating: "k", count: 200))] : []
            let reply = try await stack.send(method, path, token: token, headers: headers, body: body.map { Data($0.utf8) })
            #expect(reply.status == status, "\(method) \(path) \(body ?? "") → \(reply.text)")
            #expect(try reply.errorCode() != nil, "\(path): not the JSON error shape")
        }
        #expect(try await balance(user.token) == 10)
        #expect(try await stack.send(.GET, "/api/booking/bookings", token: user.token).json()["items"] == .array([]))
        try await checkInvariants()
    }
}

extension JSONValue {
    /// The number as a whole number, when this is one.
    var int: Int? {
        if case .number(let value) = self, value.rounded() == value { return Int(value) }
        return nil
    }

    /// The elements, when this is an array.
    var array: [JSONValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }
}
