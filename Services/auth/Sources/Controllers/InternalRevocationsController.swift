import Foundation
import GuildClients
import GuildServiceKit
import Hummingbird

/// `GET /internal/revocations`, on auth's private listener behind the shared secret: what every
/// replica of a service that checks tokens itself must refuse (notify's live gateways), loaded
/// when it starts and when it reconnects to Redis, as auth's own replicas load it from PostgreSQL.
struct InternalRevocationsController: Sendable {
    let sessions: SessionRepository
    /// How far back revoked sessions matter: as long as one of their access tokens can be unexpired.
    let window: Duration

    /// Under `/internal`.
    var endpoints: RouteCollection<GuildRequestContext> {
        RouteCollection(context: GuildRequestContext.self).get("revocations", use: list)
    }

    @Sendable func list(request: Request, context: GuildRequestContext) async throws -> RevocationSnapshot {
        let (revoked, disabled) = try await sessions.revocations(window: window, logger: context.logger)
        return RevocationSnapshot(
            sessions: revoked.map { RevocationSnapshot.Session(id: $0.0, revokedAt: $0.1) },
            disabledUsers: disabled.sorted()
        )
    }
}

extension RevocationSnapshot: ResponseEncodable {}
