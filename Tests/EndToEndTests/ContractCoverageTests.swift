import Foundation
import GuildServiceKit
import GuildStack
import GuildTestSupport
import Testing

/// Every route a service serves, on either listener, is in the contract: each service lists its
/// routes on its private listener (`GET /internal/routes`), and each must be an operation of
/// `openapi.yaml`, marked as a private listener's (`x-listener: private`) exactly when it is one.
@Suite("openapi.yaml documents every route of every service", .watched)
struct ContractCoverageTests {
    @Test(arguments: GuildStack.services.map(\.name))
    func everyRouteTheServiceServesIsDocumented(service: String) async throws {
        let contract = try ContractOperations()
        let routes = try await PublicRouteTests.routes(of: service)
        #expect(routes.contains { $0.listener == .private && $0.path == "/internal/routes" }, "\(service) lists no private routes")
        for route in routes {
            guard let documented = contract.path(route.path) else {
                Issue.record("\(service) serves \(route.method) \(route.path), which openapi.yaml does not document")
                continue
            }
            #expect(documented.methods.contains(route.method), "openapi.yaml documents \(route.path) without \(route.method), which \(service) serves")
            #expect(
                documented.isPrivate == (route.listener == .private),
                "\(route.path) is served on \(service)'s \(route.listener.rawValue) listener; openapi.yaml must \(documented.isPrivate ? "not " : "")mark it x-listener: private"
            )
        }
    }
}
