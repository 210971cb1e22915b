import Foundation
import GuildServiceKit
import GuildStack
import GuildTestSupport
import Testing

/// The list of services in Swift is the one truth: the scripts, the nginx template, the
/// container files and the contract must each know every service on it, so a service added in
/// Swift but forgotten elsewhere fails here.
@Suite("every service is known to the scripts, nginx, compose and Kubernetes", .watched)
struct StackDeclarationTests {
    /// The repository's root, found from this file's place in it.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func read(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    @Test func servicesHaveDistinctNamesAndPorts() {
        let services = GuildStack.services
        #expect(Set(services.map(\.name)).count == services.count)
        let ports = services.flatMap { [$0.defaultPort, $0.defaultInternalPort] }
        #expect(Set(ports).count == ports.count, "two services share a default port")
        #expect(services.first?.name == "auth", "auth signs the tokens and starts first")
    }

    @Test func theScriptsStartExactlyTheServicesOfTheList() throws {
        let lib = try Self.read("scripts/lib.sh")
        let names = GuildStack.services.map(\.name).joined(separator: " ")
        #expect(lib.contains("GH_SERVICES=(\(names))"), "scripts/lib.sh's GH_SERVICES must be (\(names))")
        for service in GuildStack.services {
            let servers = "GUILDHALL_\(service.name.uppercased())_SERVERS"
            #expect(lib.contains("\(servers)=\"$GH_\(service.name.uppercased())_SERVERS\""), "scripts/lib.sh does not give nginx \(servers)")
        }
    }

    @Test(arguments: GuildStack.services.map(\.name))
    func nginxRoutesEveryPrefixOfTheService(name: String) throws {
        let service = try #require(GuildStack.service(named: name))
        let template = try Self.read("nginx/guildhall.conf.template")
        #expect(template.contains("upstream guildhall_\(name) {"), "nginx has no upstream for \(name)")
        #expect(template.contains("${GUILDHALL_\(name.uppercased())_SERVERS}"), "nginx's upstream for \(name) takes no servers")
        let locations = template.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("location ") }
        // (The health route, and that each public route really reaches the service, are tried
        // through the running nginx by PublicRouteTests.)
        for prefix in service.routePrefixes {
            let pattern = prefix.dropFirst()  // regex locations write `^/api/…`
            #expect(locations.contains { $0.contains(prefix) || $0.contains("^/\(pattern)") }, "nginx has no location for \(prefix)")
        }
        #expect(template.contains("proxy_pass http://guildhall_\(name);"), "nginx never passes a request to \(name)")
    }

    @Test(arguments: GuildStack.services.map(\.name))
    func composeRunsTheServiceOnItsPorts(name: String) throws {
        let service = try #require(GuildStack.service(named: name))
        let compose = try Self.read("compose/docker-compose.yml")
        #expect(compose.contains("  \(name):\n"), "compose/docker-compose.yml has no service \(name)")
        #expect(compose.contains("command: [\"\(name)\"]"))
        #expect(compose.contains("PORT: \"\(service.defaultPort)\""))
        #expect(compose.contains("INTERNAL_PORT: \"\(service.defaultInternalPort)\""))
        #expect(compose.contains("http://127.0.0.1:\(service.defaultPort)\(service.healthPath)"), "compose's health check of \(name) is not its health route")
        #expect(compose.contains("GUILDHALL_\(name.uppercased())_SERVERS: \"server \(name):\(service.defaultPort) "), "compose's nginx does not reach \(name)")
        let dockerfile = try Self.read("compose/Dockerfile")
        let built = dockerfile.split(separator: "\n").first { $0.contains("for program in") } ?? ""
        #expect(built.split(separator: " ").contains(Substring(name)), "compose/Dockerfile does not install \(name)")
    }

    @Test(arguments: GuildStack.services.map(\.name))
    func kubernetesRunsTheServiceOnItsPortsAndRoutesItsPrefixes(name: String) throws {
        let service = try #require(GuildStack.service(named: name))
        let base = "deploy/kubernetes/base"
        #expect(try Self.read("\(base)/kustomization.yaml").contains("  - \(name).yaml\n"), "the base does not include \(name).yaml")
        let manifest = try Self.read("\(base)/\(name).yaml")
        #expect(manifest.contains("command: [\"\(name)\"]"))
        for (variable, port) in [("PORT", service.defaultPort), ("INTERNAL_PORT", service.defaultInternalPort)] {
            #expect(manifest.contains("- name: \(variable)\n              value: \"\(port)\""), "\(name)'s Deployment does not set \(variable) \(port)")
            #expect(manifest.contains("containerPort: \(port)\n"), "\(name)'s pod does not declare port \(port)")
            #expect(manifest.contains("      port: \(port)\n"), "\(name)'s Service has no port \(port)")
        }
        #expect(manifest.contains("path: \(service.healthPath)\n"), "\(name) is not probed on its health route")
        for kind in ["Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"] {
            #expect(manifest.contains("kind: \(kind)\nmetadata:\n  name: \(name)\n"), "\(name).yaml has no \(kind) \(name)")
        }
        // Every prefix reaches the service (its Service, or one of its own such as notify-realtime).
        let ingress = try Self.read("\(base)/ingress.yaml")
        let routes = try Regex(#"- path: (\S+)\n\s+pathType: \w+\n\s+backend:\n\s+service:\n\s+name: (\S+)"#)
        let backends = ingress.matches(of: routes).compactMap { match -> (path: String, service: String)? in
            guard let path = match.output[1].substring, let backend = match.output[2].substring else { return nil }
            return (String(path), String(backend))
        }
        for prefix in service.routePrefixes {
            let reached = backends.contains { ($0.path == prefix || $0.path + "/" == prefix) && ($0.service == name || $0.service.hasPrefix("\(name)-")) }
            #expect(reached, "deploy/kubernetes/base/ingress.yaml does not route \(prefix) to \(name)")
        }
    }

    /// nginx's own 405 (TRACE, refused before any location) names the methods of the path in
    /// `Allow`, from a map that must list every public path of the contract with its methods.
    @Test func nginxAllowMapListsTheMethodsOfEveryPublicPath() throws {
        let template = try Self.read("nginx/guildhall.conf.template")
        let map = template.components(separatedBy: "map $request_uri $guildhall_allow {").dropFirst().first?.components(separatedBy: "\n}").first ?? ""
        // Each pattern compiled once: compiling one per path and pattern costs seconds of a thread.
        var entries: [(pattern: Regex<AnyRegexOutput>, allow: String)] = []
        for line in map.split(separator: "\n") {
            let parts = line.split(separator: "\"")
            if parts.count >= 4, parts[1].hasPrefix("~") { entries.append((try Regex(String(parts[1].dropFirst())), String(parts[3]))) }
        }
        #expect(!entries.isEmpty, "nginx has no map $request_uri $guildhall_allow")
        for path in try ContractOperations().paths where !path.isPrivate {
            let sample = path.path.replacingOccurrences(of: #"\{[^}]+\}"#, with: "x1", options: .regularExpression)
            let first = try entries.first { entry in try entry.pattern.firstMatch(in: sample) != nil }
            let allowed = Set((first?.allow ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            #expect(allowed == Set(path.methods), "nginx's Allow for \(path.path) is \(first?.allow ?? "missing"); the contract's methods are \(path.methods)")
        }
    }

    @Test(arguments: GuildStack.services.map(\.name))
    func theContractDocumentsTheServiceHealth(name: String) throws {
        let service = try #require(GuildStack.service(named: name))
        let contract = try Self.read("openapi.yaml")
        #expect(contract.contains("  \(service.healthPath):"), "openapi.yaml does not document \(service.healthPath)")
    }
}
