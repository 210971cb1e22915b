import GuildRedis
import Hummingbird

/// Where a service adds its routes, each group said to be public or for signed-in callers.
///
/// What is public is recorded, so the private listener can list every route with its
/// visibility (`GET /internal/routes`) and the tests check nginx's gate against it.
public final class ServiceRoutes {
    /// The service's public router (health and the 405 answers are added by the kit).
    let router: Router<GuildRequestContext>
    /// The answers of the routes added with ``open(_:cached:_:)``.
    let cache: PublicReadCache
    private var publicRoutes: Set<String> = []

    init(router: Router<GuildRequestContext>, cache: PublicReadCache) {
        self.router = router
        self.cache = cache
    }

    /// Routes anyone may call, under `path`.
    public func open(_ path: String, _ collections: RouteCollection<GuildRequestContext>...) {
        recordingPublic { router in
            for collection in collections { router.addRoutes(collection, atPath: RouterPath(path)) }
        }
    }

    /// Public reads anyone may call, under `path`, answered from the ``PublicReadCache`` (at
    /// most its lifetime old on any replica; at once after a write on this one). When they
    /// answer a signed-in caller about themselves (`variesByCaller`), only anonymous reads are.
    public func open(_ path: String, variesByCaller: Bool = false, cached collections: RouteCollection<GuildRequestContext>...) {
        cache.markUsed()
        recordingPublic { router in
            let group = router.group(RouterPath(path)).add(middleware: PublicReadCacheMiddleware(cache: cache, variesByCaller: variesByCaller))
            for collection in collections { group.addRoutes(collection) }
        }
    }

    /// Routes for signed-in callers, under `path`: a request without a valid token gets a 401,
    /// one whose role the collections' context does not admit (``StaffContext``,
    /// ``AdminContext``) a 403.
    public func signedIn<Admitted>(_ path: String, _ collections: RouteCollection<SignedInContext<Admitted>>...) {
        let group = router.group(RouterPath(path), context: SignedInContext<Admitted>.self)
        for collection in collections { group.addRoutes(collection) }
    }

    /// Adds what `add` adds to the router as public.
    func recordingPublic(_ add: (Router<GuildRequestContext>) -> Void) {
        let before = Set(router.routes.map(\.description))
        add(router)
        publicRoutes.formUnion(Set(router.routes.map(\.description)).subtracting(before))
    }

    /// Every route with its visibility, in path order.
    var listing: [RouteListing] {
        router.routes
            .map { RouteListing(method: $0.method.rawValue, path: $0.path.description, public: publicRoutes.contains($0.description)) }
            .sorted { ($0.path, $0.method) < ($1.path, $1.method) }
    }
}

extension RouteListing {
    /// The routes of a private listener's `router` (never public: nginx does not reach that
    /// listener), plus `extra` routes about to be added, in path order.
    static func privateListener(_ router: Router<GuildRequestContext>, adding extra: [(method: String, path: String)]) -> [RouteListing] {
        (router.routes.map { ($0.method.rawValue, $0.path.description) } + extra)
            .map { RouteListing(method: $0.0, path: $0.1, public: false, listener: .private) }
            .sorted { ($0.path, $0.method) < ($1.path, $1.method) }
    }
}

/// One route of a service, as `GET /internal/routes` lists it.
public struct RouteListing: ResponseCodable, Sendable, Equatable {
    /// `GET`, `POST` …
    public var method: String
    /// `/api/booking/bookings/{booking_id}`.
    public var path: String
    /// True when nginx must let it through without a token.
    public var `public`: Bool
    /// Which listener serves it: `public` (`PORT`, behind nginx) or `private` (`INTERNAL_PORT`).
    public var listener: Listener

    /// The two listeners of a service.
    public enum Listener: String, Codable, Sendable {
        /// `PORT`, which nginx reaches.
        case `public`
        /// `INTERNAL_PORT`, for the other services and the bot; nginx does not reach it.
        case `private`
    }

    /// Creates a listing.
    public init(method: String, path: String, public: Bool, listener: Listener = .public) {
        self.method = method
        self.path = path
        self.public = `public`
        self.listener = listener
    }
}
