import AsyncHTTPClient
import Configuration
import Foundation
import GuildClients
import GuildCore
import GuildServiceKit
import Hummingbird

/// `GET /api/health` (public): the whole stack's health in one answer, as the HazeBot app's
/// health route gives it — `{status, timestamp, services: {auth: "ok", booking: "ok", …}}`,
/// 503 with `degraded` when a service is not `ok`.
///
/// auth asks each service's own health route (`GET /api/<name>/health` on every replica listed
/// in `STACK_HEALTH_URLS`) at most once a second, whoever calls: a public route must not let
/// anyone make the stack answer five requests for each of theirs.
struct StackHealthController: Sendable {
    /// Where each service's replicas answer (`STACK_HEALTH_URLS`: `name=url|url,…`).
    struct Targets: Sendable {
        var services: [(name: String, urls: [String])]

        init(reader: ConfigReader) throws {
            let text = reader.string(forKey: "stack.health.urls", default: "")
            services = []
            for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
                guard let equals = item.firstIndex(of: "="), !item[..<equals].isEmpty else {
                    throw ConfigurationError.invalid("STACK_HEALTH_URLS", "each entry is name=url (several urls of one service separated by |)")
                }
                let name = String(item[..<equals])
                let urls = item[item.index(after: equals)...].split(separator: "|").map(String.init)
                guard !urls.isEmpty, urls.allSatisfy({ URL(string: $0)?.host != nil }) else {
                    throw ConfigurationError.invalid("STACK_HEALTH_URLS", "\(name): not a list of http(s) URLs")
                }
                services.append((name, urls))
            }
        }
    }

    struct Answer: ResponseEncodable, Sendable {
        /// `ok`, or `degraded` when any service is not.
        var status: String
        var timestamp: Date
        /// Each service: `ok`, `degraded` (some replicas, or the service says so) or `down` (no replica answers).
        var services: [String: String]
    }

    let targets: Targets
    /// This service's own health (auth answers for itself without a request).
    let own: @Sendable () async -> String
    /// One answer for everyone for a second.
    private let recent = RecentAnswer<Answer>(lifetime: .seconds(1))

    init(targets: Targets, own: @escaping @Sendable () async -> String) {
        self.targets = targets
        self.own = own
    }

    var endpoints: RouteCollection<GuildRequestContext> {
        RouteCollection(context: GuildRequestContext.self).get("health", use: health)
    }

    @Sendable func health(request: Request, context: GuildRequestContext) async throws -> Response {
        let answer = await current()
        var response = try context.responseEncoder.encode(answer, from: request, context: context)
        response.status = answer.status == "ok" ? .ok : .serviceUnavailable
        response.headers[.cacheControl] = "no-store"
        return response
    }

    private func current() async -> Answer {
        await recent.value { await ask() }
    }

    private func ask() async -> Answer {
        var services = ["auth": await own()]
        await withTaskGroup(of: (String, String).self) { group in
            for (name, urls) in targets.services where name != "auth" {
                group.addTask { (name, await Self.status(of: name, at: urls)) }
            }
            for await (name, status) in group { services[name] = status }
        }
        return Answer(status: services.values.allSatisfy { $0 == "ok" } ? "ok" : "degraded", timestamp: Date(), services: services)
    }

    /// `ok` when every replica says ok, `down` when none answers ok, `degraded` otherwise.
    private static func status(of name: String, at urls: [String]) async -> String {
        let answers = await withTaskGroup(of: Bool.self) { group in
            for url in urls { group.addTask { await isHealthy(url + "/api/\(name)/health") } }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        if answers.allSatisfy({ $0 }) { return "ok" }
        return answers.contains(true) ? "degraded" : "down"
    }

    private static func isHealthy(_ url: String) async -> Bool {
        guard let answer = try? await OutboundCall(target: "replica_health", timeout: .seconds(2), bodyLimit: 64 * 1024).send(HTTPClientRequest(url: url)),
            answer.status == 200
        else { return false }
        return (try? answer.decode(HealthReport.self, with: GuildJSON.decoder))?.status == "ok"
    }
}
