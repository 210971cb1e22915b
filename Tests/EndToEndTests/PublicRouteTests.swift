import AsyncHTTPClient
import Foundation
import GuildServiceKit
import GuildStack
import GuildTestSupport
import NIOCore
import NIOHTTP1
import Testing

/// nginx and the services agree on what is public: each service lists its routes with their
/// visibility on its private listener, and every one is tried through nginx without a token.
@Suite("nginx and the services agree on which routes are public", .watched)
struct PublicRouteTests {
    let stack: StackClient

    init() throws {
        stack = try StackClient()
    }

    /// The message of nginx's own refusal at the gate (the services word theirs differently, so
    /// a refusal can be told apart from one a service gave after nginx let the request through).
    static let gateRefusal = "A valid access token is required."
    /// The message of nginx's own 404 for a path it routes nowhere.
    static let noRoute = "No such route."

    /// The addresses the stack's script wrote for `service`'s first replica.
    static func addresses(of service: String) throws -> (public: String, internal: String) {
        (try StackAddresses.url(of: service), try StackAddresses.url(of: service, privateListener: true))
    }

    /// `GET /internal/routes` of `service`.
    static func routes(of service: String) async throws -> [RouteListing] {
        var request = HTTPClientRequest(url: try addresses(of: service).internal + "/internal/routes")
        request.headers.add(name: "Authorization", value: "Bearer \(try TestEnvironment.require("GUILDHALL_INTERNAL_SECRET"))")
        let response = try await StackClient.client.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else { throw StackClient.Failure(message: "\(service) /internal/routes answered \(response.status)") }
        return try JSONDecoder().decode([RouteListing].self, from: Data(buffer: body))
    }

    /// The path with every `{parameter}` filled in.
    static func concrete(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("{") ? Substring(UUID().uuidString.lowercased()) : $0 }
            .joined(separator: "/")
    }

    @Test(arguments: GuildStack.services.map(\.name))
    func everyPublicRouteIsOpenThroughNginxAndEveryOtherIsGated(service: String) async throws {
        let descriptor = try #require(GuildStack.service(named: service))
        let routes = try await Self.routes(of: service)
        #expect(routes.contains { $0.path == descriptor.healthPath && $0.public }, "\(service) lists no public health route")
        // The private listener's routes are not reached through nginx (ContractCoverageTests checks they are documented).
        for route in routes where route.listener == .public {
            #expect(
                route.path == descriptor.healthPath || descriptor.routePrefixes.contains { route.path.hasPrefix($0) },
                "\(route.method) \(route.path) lies outside \(service)'s route prefixes, which nginx sends to it"
            )
            let method = HTTPMethod(rawValue: route.method)
            let body: Data? = [.POST, .PUT, .PATCH].contains(method) ? Data("{}".utf8) : nil
            let reply = try await stack.send(method, Self.concrete(route.path), body: body)
            let refusedAtGate = reply.status == 401 && (method == .HEAD || (try? reply.json()["error"]?["message"]?.stringValue) == Self.gateRefusal)
            if route.public {
                #expect(!refusedAtGate, "\(service) declares \(route.method) \(route.path) public, but nginx asks for a token")
                let unrouted = reply.status == 404 && (try? reply.json()["error"]?["message"]?.stringValue) == Self.noRoute
                #expect(!unrouted, "nginx does not route \(route.method) \(route.path) to \(service)")
            } else {
                #expect(refusedAtGate, "\(route.method) \(route.path) needs a signed-in caller, but nginx let it through: \(reply.status) \(reply.text)")
            }
        }
    }

    @Test func aServiceReachedAroundNginxTrustsNoIdentityHeaders() async throws {
        // Straight to booking's own port, as a request slipping past nginx would arrive.
        let url = try Self.addresses(of: "booking").public + "/api/booking/wallet"
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "X-User-Id", value: UUID().uuidString.lowercased())
        request.headers.add(name: "X-User-Role", value: "admin")
        request.headers.add(name: "X-Session-Id", value: UUID().uuidString.lowercased())
        let response = try await StackClient.client.execute(request, timeout: .seconds(10))
        #expect(response.status == .unauthorized)
    }
}
