import AsyncHTTPClient
import Foundation
import GuildCore
import GuildPostgres
import GuildTestSupport
import PostgresNIO
import Testing

/// The public catalogue reads are answered from a moment's cache on each replica: a change
/// through the API shows on every replica at once, and any other change within a second.
@Suite("Public reads: cached a moment, fresh on every replica")
struct PublicReadsTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    /// `GET path` straight from booking's replica `replica`, past nginx.
    func read(_ path: String, replica: Int) async throws -> JSONValue {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: try StackAddresses.url(of: "booking", replica: replica) + path), timeout: .seconds(5))
        #expect(response.status == .ok)
        return try JSONValue(parsing: String(buffer: try await response.body.collect(upTo: 1 << 20)))
    }

    func names(replica: Int) async throws -> [String: String] {
        let services = try await read("/api/booking/services", replica: replica).array ?? []
        return Dictionary(services.compactMap { service in service["id"]?.stringValue.map { ($0, service["name"]?.stringValue ?? "") } }, uniquingKeysWith: { a, _ in a })
    }

    @Test func aChangeThroughTheAPIShowsOnEveryReplicaAtOnce() async throws {
        let admin = try await stack.adminToken()
        // Both replicas hold the list without the new service.
        for replica in [1, 2] { _ = try await names(replica: replica) }
        let id = StackClient.unique("cache")
        let added = try await stack.send(.POST, "/api/booking/services", token: admin, raw: #"{"id":"\#(id)","type":"RAID","name":"Fresh","price_per_hour":2}"#)
        #expect(added.status == 201, "\(added.text)")
        for replica in [1, 2] {
            let shown = try await eventually(timeout: .milliseconds(200), every: .milliseconds(10)) { try await names(replica: replica)[id] == "Fresh" }
            #expect(shown, "replica \(replica) did not show the new service within 200 ms")
        }
        let renamed = try await stack.send(.PATCH, "/api/booking/services/\(id)", token: admin, raw: #"{"name":"Renamed"}"#)
        #expect(renamed.status == 200, "\(renamed.text)")
        for replica in [1, 2] {
            let shown = try await eventually(timeout: .milliseconds(200), every: .milliseconds(10)) { try await names(replica: replica)[id] == "Renamed" }
            #expect(shown, "replica \(replica) did not show the new name within 200 ms")
        }
    }

    @Test func aChangeBehindTheAPIShowsOnEveryReplicaWithinASecond() async throws {
        let admin = try await stack.adminToken()
        let id = StackClient.unique("cache")
        #expect(try await stack.send(.POST, "/api/booking/services", token: admin, raw: #"{"id":"\#(id)","type":"RAID","name":"Before","price_per_hour":2}"#).status == 201)
        for replica in [1, 2] {
            #expect(try await eventually(timeout: .seconds(1), every: .milliseconds(10)) { try await names(replica: replica)[id] == "Before" })
        }
        // A change no request made (as a job or an operator would): no replica is told.
        try await withStackDatabase(schema: "booking") { client in
            _ = try await client.query("UPDATE services SET name = 'After' WHERE id = \(id)", logger: e2eLogger)
        }
        let changed = ContinuousClock.now
        for replica in [1, 2] {
            let shown = try await eventually(timeout: .seconds(2), every: .milliseconds(10)) { try await names(replica: replica)[id] == "After" }
            #expect(shown && ContinuousClock.now - changed < .seconds(1), "replica \(replica) showed the change after \(ContinuousClock.now - changed)")
        }
    }
    /// The services' names through nginx, anonymous, and whether nginx answered from its cache.
    func namesThroughNginx() async throws -> (names: [String: String], kept: Bool) {
        let reply = try await stack.send(.GET, "/api/booking/services")
        #expect(reply.status == 200, "\(reply.text)")
        let services = try reply.json().array ?? []
        let names = Dictionary(services.compactMap { service in service["id"]?.stringValue.map { ($0, service["name"]?.stringValue ?? "") } }, uniquingKeysWith: { a, _ in a })
        return (names, reply.headers.first(name: "X-Cache-Status") == "HIT")
    }

    /// nginx keeps what the services keep, for a quarter of a second: a run of reads is mostly
    /// answered by nginx, and a change, through the API or behind it, shows within a second.
    @Test func nginxKeepsPublicReadsAMomentAndShowsAChangeWithinASecond() async throws {
        var kept = 0
        for _ in 0..<20 where try await namesThroughNginx().kept { kept += 1 }
        #expect(kept >= 10, "only \(kept) of 20 reads in a row were answered from nginx's cache")

        let admin = try await stack.adminToken()
        let id = StackClient.unique("edge")
        #expect(try await stack.send(.POST, "/api/booking/services", token: admin, raw: #"{"id":"\#(id)","type":"RAID","name":"Before","price_per_hour":2}"#).status == 201)
        var added = ContinuousClock.now
        var shown = try await eventually(timeout: .seconds(2), every: .milliseconds(10)) { try await namesThroughNginx().names[id] == "Before" }
        #expect(shown && ContinuousClock.now - added < .seconds(1), "nginx showed the new service after \(ContinuousClock.now - added)")

        try await withStackDatabase(schema: "booking") { client in
            _ = try await client.query("UPDATE services SET name = 'After' WHERE id = \(id)", logger: e2eLogger)
        }
        added = ContinuousClock.now
        shown = try await eventually(timeout: .seconds(2), every: .milliseconds(10)) { try await namesThroughNginx().names[id] == "After" }
        #expect(shown && ContinuousClock.now - added < .seconds(1), "nginx showed a change behind the API after \(ContinuousClock.now - added)")
    }

    /// The leaderboard tells a signed-in member their own place, so nginx keeps only its
    /// anonymous answer (the service's `Vary: Authorization`) and never gives it to a caller
    /// with a token.
    @Test func aCallerWithATokenIsNeverGivenTheKeptAnonymousLeaderboard() async throws {
        let member = try await stack.makeUser(role: "user", admin: try await stack.adminToken())
        let keptAnonymous = try await eventually(timeout: .seconds(2), every: .milliseconds(5)) {
            try await stack.send(.GET, "/api/leveling/leaderboard").headers.first(name: "X-Cache-Status") == "HIT"
        }
        #expect(keptAnonymous, "nginx never answered the anonymous leaderboard from its cache")
        for _ in 0..<10 {
            let signedIn = try await stack.send(.GET, "/api/leveling/leaderboard", token: member.token)
            #expect(signedIn.status == 200, "\(signedIn.text)")
            #expect(signedIn.headers.first(name: "X-Cache-Status") != "HIT", "a signed-in caller got nginx's kept answer")
            #expect(signedIn.headers.first(name: "Vary")?.contains("Authorization") == true)
        }
    }
}
