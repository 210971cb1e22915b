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
}
