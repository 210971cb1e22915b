import Foundation
import GuildCore
import GuildTestSupport
import NIOHTTP1
import PostgresNIO
import Testing

/// The staff figures of every service through nginx, on data seeded into the services' tables
/// on a day long past (nothing else writes there, so each count must move by exactly what was
/// seeded) and on what the test does through the API today (its own staff member's work is
/// counted exactly; totals others share only grow).
@Suite("Through nginx: staff figures", .watched)
struct StatsTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    /// A day in the 90-day window that no other test writes to.
    static let seededDay = Date().addingTimeInterval(-75 * 86_400)
    static var seededDate: String { String(RFC3339.format(seededDay).prefix(10)) }
    static var today: String { String(RFC3339.format(Date()).prefix(10)) }

    /// The value of `figure`'s series on `date`.
    static func point(_ figure: JSONValue?, on date: String) -> Int? {
        figure?["series"]?.array?.first { $0["date"] == .string(date) }?["value"]?.int
    }

    func stats(_ path: String, token: String) async throws -> JSONValue {
        let reply = try await stack.send(.GET, path, token: token)
        #expect(reply.status == 200, "\(path): \(reply.text)")
        return try reply.json()
    }

    func seed(_ schema: String, _ statements: [PostgresQuery]) async throws {
        try await withStackDatabase(schema: schema) { postgres in
            for statement in statements { _ = try await postgres.query(statement, logger: e2eLogger) }
        }
    }

    @Test func everyRouteIsForStaffAndTakesOneToNinetyDays() async throws {
        let admin = try await stack.adminToken()
        let member = try await stack.makeUser(role: "user", admin: admin)
        for path in ["/api/users/stats", "/api/booking/stats/admin", "/api/tickets/stats", "/api/leveling/stats", "/api/notifications/stats"] {
            #expect(try await stack.send(.GET, path).status == 401, "\(path)")
            #expect(try await stack.send(.GET, path, token: member.token).status == 403, "\(path)")
            for bad in ["0", "91", "x", "7&days=8", "&days=7"] {
                let refused = try await stack.send(.GET, "\(path)?days=\(bad)", token: admin)
                #expect(refused.status == 400 && refused.text.contains("days"), "\(path)?days=\(bad): \(refused.text)")
            }
            let week = try await stats("\(path)?days=7", token: admin)
            #expect(week["days"] == .number(7) && week["until"] == .string(Self.today), "\(path): \(week)")
        }
    }

    @Test func accountsSignInsAndMembersSeen() async throws {
        let admin = try await stack.adminToken()
        let before = try await stats("/api/users/stats?days=90", token: admin)
        let day = Self.seededDay
        try await seed("auth", [
            "INSERT INTO users (id, username, role, created_at) SELECT gen_random_uuid(), 'seeded-' || gen_random_uuid(), 'user', \(day) FROM generate_series(1, 3)",
        ])
        let user = try await stack.makeUser(role: "user", admin: admin)
        let moderator = try await stack.makeUser(role: "moderator", admin: admin)
        let after = try await stats("/api/users/stats?days=90", token: moderator.token)
        #expect(Self.point(after["new_users"], on: Self.seededDate) == (Self.point(before["new_users"], on: Self.seededDate) ?? -9) + 3, "\(after)")
        #expect((Self.point(after["new_users"], on: Self.today) ?? 0) >= (Self.point(before["new_users"], on: Self.today) ?? 0) + 2)
        #expect((after["logins"]?["password"]?["total"]?.int ?? 0) >= (before["logins"]?["password"]?["total"]?.int ?? 0) + 2)
        #expect(after["logins"]?["discord"]?["series"]?.array?.count == 90)
        #expect((Self.point(after["active_users"], on: Self.today) ?? 0) >= 2)
        #expect((after["users_total"]?.int ?? 0) >= (before["users_total"]?.int ?? 0) + 5)
        #expect((after["sessions_live"]?.int ?? 0) >= 2, "\(user.name) and \(moderator.name) are signed in")
        #expect(after["new_users"]?["total"]?.int == after["new_users"]?["series"]?.array?.reduce(0) { $0 + ($1["value"]?.int ?? 0) })
    }

    @Test func bookingsHoursAndVMUse() async throws {
        let admin = try await stack.adminToken()
        let before = try await stats("/api/booking/stats/admin?days=90", token: admin)
        let day = Self.seededDay
        // Two bookings made and played on the seeded day on vm4, at hours of the night no other test uses.
        let first = UUID(), second = UUID(), owner = UUID()
        let start = day.addingTimeInterval(-day.timeIntervalSince1970.truncatingRemainder(dividingBy: 86_400) + Double.random(in: 0..<10).rounded(.down) * 3600)
        try await seed("booking", [
            """
            INSERT INTO bookings (id, user_id, service_id, realm, game_name, vm_id, start_time, end_time, duration, hours_charged, status, created_at)
            VALUES (\(first), \(owner), 'bo', 'EU', 'seeded', 'vm4', \(start), \(start.addingTimeInterval(2 * 3600)), 2, 2, 'completed', \(day)),
                   (\(second), \(owner), 'bo', 'EU', 'seeded', 'vm4', \(start.addingTimeInterval(10 * 3600)), \(start.addingTimeInterval(13 * 3600)), 3, 3, 'scheduled', \(day))
            """,
            "UPDATE bookings SET status = 'cancelled', cancelled_at = \(day), hours_refunded = 3 WHERE id = \(second)",
            // The wallet is the sum of its ledger, as everywhere: a grant of 5, both charges, the refund.
            "INSERT INTO wallets (user_id, balance) VALUES (\(owner), 3)",
            """
            INSERT INTO ledger (id, user_id, delta, balance_after, kind, booking_id, reason, actor_id, created_at) VALUES
                (gen_random_uuid(), \(owner), 5, 5, 'grant', NULL, 'seeded', \(owner), \(day)),
                (gen_random_uuid(), \(owner), -2, 3, 'booking', \(first), NULL, NULL, \(day)),
                (gen_random_uuid(), \(owner), -3, 0, 'booking', \(second), NULL, NULL, \(day)),
                (gen_random_uuid(), \(owner), 3, 3, 'refund', \(second), NULL, NULL, \(day))
            """,
        ])
        let after = try await stats("/api/booking/stats/admin?days=90", token: admin)
        let date = Self.seededDate
        func moved(_ path: [String]) -> Int? {
            var before: JSONValue? = before, after: JSONValue? = after
            for key in path { before = before?[key]; after = after?[key] }
            guard let now = Self.point(after, on: date) else { return nil }
            return now - (Self.point(before, on: date) ?? 0)
        }
        #expect(moved(["bookings", "completed"]) == 1, "\(after)")
        #expect(moved(["bookings", "cancelled"]) == 1, "\(after)")
        #expect(moved(["bookings", "scheduled"]) == 0, "the cancelled booking left scheduled: \(after)")
        #expect(moved(["hours_booked"]) == 5 && moved(["hours_refunded"]) == 3, "both charges, then the refund: \(after)")
        let vm = { (stats: JSONValue) in stats["vms"]?.array?.first { $0["vm_id"] == .string("vm4") } }
        #expect((vm(after)?["booked_hours"]?.int ?? 0) - (vm(before)?["booked_hours"]?.int ?? 0) == 2, "only the booking not cancelled: \(after)")
        #expect(vm(after)?["utilisation"]?.double == Double(vm(after)?["booked_hours"]?.int ?? -1) / Double(90 * 24))
    }

    @Test func ticketsAndTheWorkOfOneStaffMember() async throws {
        let admin = try await stack.adminToken()
        let member = try await stack.makeUser(role: "user", admin: admin)
        let moderator = try await stack.makeUser(role: "moderator", admin: admin)
        let opened = try await stack.send(.POST, "/api/tickets", token: member.token, json: ["subject": "Figures", "category": "billing", "message": "Counted?"])
        #expect(opened.status == 201, "\(opened.text)")
        let id = try opened.json()["ticket"]?["ticket_id"]?.stringValue ?? opened.json()["ticket_id"]?.stringValue ?? ""
        #expect(try await stack.send(.POST, "/api/tickets/\(id)/send", token: moderator.token, json: ["message": "Yes."]).status == 200)
        #expect(try await stack.send(.POST, "/api/tickets/\(id)/send", token: moderator.token, json: ["message": "Twice."]).status == 200)
        #expect(try await stack.send(.POST, "/api/tickets/\(id)/close", token: moderator.token).status == 200)
        let stats = try await stats("/api/tickets/stats?days=1", token: moderator.token)
        let work = stats["staff"]?.array?.first { $0["user_id"] == .string(moderator.id) }
        #expect(work?["replies"] == .number(2) && work?["closes"] == .number(1), "\(stats)")
        #expect((stats["opened"]?["total"]?.int ?? 0) >= 1 && (stats["closed"]?["total"]?.int ?? 0) >= 1, "\(stats)")
        #expect((stats["first_staff_reply"]?["tickets"]?.int ?? 0) >= 1 && stats["first_staff_reply"]?["median_seconds"]?.double != nil, "\(stats)")
        #expect((stats["time_to_close"]?["tickets"]?.int ?? 0) >= 1 && stats["time_to_close"]?["p90_seconds"]?.double != nil, "\(stats)")
        #expect(stats["open_now"]?.isObject == true, "\(stats)")
    }

    @Test func xpEventsAndMembersByTier() async throws {
        let admin = try await stack.adminToken()
        let before = try await stats("/api/leveling/stats?days=90", token: admin)
        let member = LevelingTests.discordId()
        try await seed("leveling", [
            """
            INSERT INTO xp_history (discord_id, amount, total_after, source, occurred_at, created_at)
            SELECT \(member), 10, 10 * n, 'voice', \(Self.seededDay), \(Self.seededDay) FROM generate_series(1, 4) AS n
            """,
            // Profiles added in bulk, in one statement (an import), are counted by level too.
            "INSERT INTO profiles (discord_id, xp, level) SELECT \(member) || '-' || n::text, 0, 0 FROM generate_series(1, 3) AS n",
        ])
        let earned = try await StackClient.internalPost("leveling", "/internal/leveling/events", LevelingTests.event(LevelingTests.discordId(), at: Date()))
        #expect(earned.status == 200, "\(earned.text)")
        let after = try await stats("/api/leveling/stats?days=90", token: admin)
        let voice = { (stats: JSONValue) in Self.point(stats["xp_events"]?["voice"], on: Self.seededDate) ?? 0 }
        #expect(voice(after) - voice(before) == 4, "\(after)")
        #expect((Self.point(after["xp_events"]?["message"], on: Self.today) ?? 0) >= 1, "\(after)")
        #expect((after["members_total"]?.int ?? 0) >= (before["members_total"]?.int ?? 0) + 1, "a new member has a profile")
        let tiers = after["members_by_tier"]?.array ?? []
        #expect(tiers.first?["tier"] == .string("Basic") && tiers.count == 5, "\(after)")
        #expect(tiers.reduce(0) { $0 + ($1["members"]?.int ?? 0) } == after["members_total"]?.int)
    }

    /// The figures are kept, not counted on reading: after single events and a batch (counted
    /// once at its end), XP changes, level-ups and members by level each equal the rows they
    /// stand for, read in one snapshot whatever else runs meanwhile.
    @Test func leveledFiguresEqualTheRowsTheyCountAfterSingleEventsAndABatch() async throws {
        let now = Date()
        let (first, second) = (LevelingTests.discordId(), LevelingTests.discordId())
        let single = try await StackClient.internalPost("leveling", "/internal/leveling/events", LevelingTests.event(first, at: now))
        #expect(single.status == 200, "\(single.text)")
        let events = [
            LevelingTests.event(first, at: now.addingTimeInterval(120)), LevelingTests.event(second, "voice", at: now, minutes: 60),
            LevelingTests.event(second, at: now), LevelingTests.event(second, at: now.addingTimeInterval(1)),
        ]
        let batch = try await StackClient.internalPost("leveling", "/internal/leveling/events/batch", #"{"events":[\#(events.joined(separator: ","))]}"#)
        #expect(batch.status == 200, "\(batch.text)")
        #expect(try batch.json()["results"]?.array?.map { $0["xp_awarded"]?.int } == [15, 600, 15, 0], "\(batch.text)")
        try await withStackDatabase(schema: "leveling") { postgres in
            let rows = try await postgres.query(
                """
                SELECT (SELECT coalesce(sum(value), 0)::bigint FROM daily_counts WHERE metric = 'xp_events'),
                       (SELECT count(*)::bigint FROM xp_history),
                       (SELECT coalesce(sum(value), 0)::bigint FROM daily_counts WHERE metric = 'level_ups'),
                       (SELECT count(*)::bigint FROM level_changes WHERE to_level > from_level),
                       (SELECT coalesce(sum(members), 0)::bigint FROM members_by_level),
                       (SELECT count(*)::bigint FROM profiles)
                """,
                logger: e2eLogger
            )
            for try await (xpCounted, xpRows, upsCounted, upRows, membersCounted, members) in rows.decode((Int, Int, Int, Int, Int, Int).self) {
                #expect(xpCounted == xpRows, "XP changes counted \(xpCounted), stored \(xpRows)")
                #expect(upsCounted == upRows, "level-ups counted \(upsCounted), stored \(upRows)")
                #expect(membersCounted == members, "members counted by level \(membersCounted), profiles \(members)")
            }
        }
    }

    @Test func inboxEntriesDevicesAndLiveConnections() async throws {
        let admin = try await stack.adminToken()
        let kind = "seeded-\(UUID().uuidString.prefix(8).lowercased())"
        try await seed("notify", [
            """
            INSERT INTO notifications (id, user_id, kind, title, body, created_at)
            SELECT gen_random_uuid(), 'seeded', \(kind), 'Seeded', 'Seeded', \(Self.seededDay) FROM generate_series(1, 5)
            """,
        ])
        let before = try await stats("/api/notifications/stats?days=90", token: admin)
        let member = try await stack.makeUser(role: "user", admin: admin)
        let token = "stats-\(UUID().uuidString)"
        let registered = try await stack.send(.POST, "/api/notifications/register-token", token: member.token, json: ["fcm_token": token, "platform": "ios"])
        #expect(registered.status == 200, "\(registered.text)")
        let after = try await stats("/api/notifications/stats?days=90", token: admin)
        #expect(Self.point(after["inbox"]?[kind], on: Self.seededDate) == 5 && after["inbox"]?[kind]?["total"] == .number(5), "\(after)")
        #expect((after["devices"]?["ios"]?.int ?? 0) >= (before["devices"]?["ios"]?.int ?? 0) + 1, "\(after)")
        #expect(after["pushes_sent"]?["series"]?.array?.count == 90 && after["live_sockets"]?.int != nil, "\(after)")
    }
}

extension JSONValue {
    /// The number, when this is one.
    var double: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// Whether this is an object.
    var isObject: Bool {
        if case .object = self { return true }
        return false
    }
}
