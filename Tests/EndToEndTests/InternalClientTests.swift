import Foundation
import GuildClients
import GuildCore
import GuildServiceKit
import GuildTestSupport
import Testing

/// A service's calls to another's private listener, given one address per replica.
@Suite("Calls between services go on to the next replica when one is gone", .watched)
struct InternalClientTests {
    struct Health: Decodable {
        var status: String
    }

    @Test func aReplicaThatIsGoneCostsNoCall() async throws {
        let secret = try TestEnvironment.require("GUILDHALL_INTERNAL_SECRET")
        let live = try StackAddresses.url(of: "auth", privateListener: true)
        let gone = "http://127.0.0.1:\(try Loopback.freePort())"
        // A replica that is gone refuses at once; the timeout is only a ceiling for the live one,
        // generous because a busy machine may take seconds to answer.
        let client = InternalClient(service: "auth", baseURL: "\(gone), \(live)/", secret: secret, timeout: .seconds(30))
        #expect(client.baseURLs == [gone, live])
        // Every turn answers, whichever address it starts with, long before the timeout: a replica
        // that refuses the connection is passed over at once, not tried again until the timeout.
        for _ in 0..<4 {
            let began = ContinuousClock.now
            let (status, health) = try await client.get("/internal/health", as: Health.self)
            #expect(status == 200 && health?.status == "ok")
            #expect(ContinuousClock.now - began < client.timeout / 3, "a call took \(ContinuousClock.now - began)")
        }
        let none = InternalClient(service: "auth", baseURL: "\(gone),\(gone)", secret: secret, timeout: .seconds(30))
        let began = ContinuousClock.now
        let refused = await #expect(throws: APIError.self) { try await none.get("/internal/health", as: Health.self) }
        #expect(refused?.status == 503)
        #expect(ContinuousClock.now - began < none.timeout / 3, "no replica at all was known only after \(ContinuousClock.now - began)")
    }
}
