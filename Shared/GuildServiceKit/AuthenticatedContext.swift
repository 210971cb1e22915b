import Foundation
import GuildAuth
import GuildCore
import Hummingbird

/// Who may call a group of signed-in routes, decided once, when the request's context is made.
public protocol Admission: Sendable {
    /// True when a caller with `role` may call the group's routes.
    static func admits(_ role: Role) -> Bool
}

/// Every signed-in caller.
public enum AnySignedIn: Admission {
    public static func admits(_ role: Role) -> Bool { true }
}

/// Staff: admins and moderators.
public enum StaffOnly: Admission {
    public static func admits(_ role: Role) -> Bool { role.isStaff }
}

/// Admins.
public enum AdminOnly: Admission {
    public static func admits(_ role: Role) -> Bool { role == .admin }
}

/// The context of routes that need a signed-in user: a request without a valid token never
/// reaches them (401), nor one whose role the group does not admit (403).
public struct SignedInContext<Admitted: Admission>: ChildRequestContext, IdentifiedRequestContext {
    /// Hummingbird's own storage.
    public var coreContext: CoreRequestContextStorage
    /// The request id.
    public var requestId: String
    /// The verified token's claims.
    public var identity: Identity
    /// The caller: user id and role.
    public var caller: Caller

    /// Fails with 401 when the parent context has no verified caller, 403 when `Admitted` does
    /// not admit the caller's role.
    public init(context: GuildRequestContext) throws {
        guard let identity = context.identity else { throw APIError.unauthorized() }
        guard let userId = UUID(uuidString: identity.userId) else { throw APIError.unauthorized("the token does not name a user") }
        guard Admitted.admits(identity.role) else { throw APIError.forbidden() }
        self.coreContext = context.coreContext
        self.requestId = context.requestId
        self.identity = identity
        self.caller = Caller(userId: userId, role: identity.role)
    }

    /// Same limit as the parent context.
    public var maxUploadSize: Int { 64 * 1024 }

    /// Response bodies follow the contract's JSON rules.
    public var responseEncoder: GuildResponseEncoder { GuildResponseEncoder() }

    /// Fails with 403 unless the caller is staff (admin or moderator): for a route open to
    /// every signed-in caller that does more for staff.
    public func requireStaff() throws {
        guard identity.role.isStaff else { throw APIError.forbidden() }
    }
}

/// Any signed-in caller.
public typealias AuthenticatedContext = SignedInContext<AnySignedIn>
/// Moderators and admins.
public typealias StaffContext = SignedInContext<StaffOnly>
/// Admins.
public typealias AdminContext = SignedInContext<AdminOnly>

/// A context that carries the request id its error bodies name.
public protocol IdentifiedRequestContext: RequestContext {
    var requestId: String { get }
}

/// Who is calling a signed-in route.
public struct Caller: Sendable, Equatable {
    /// The caller's user id.
    public var userId: UUID
    /// The caller's role.
    public var role: Role

    /// Creates a caller.
    public init(userId: UUID, role: Role) {
        self.userId = userId
        self.role = role
    }

    /// True for admins and moderators.
    public var isStaff: Bool { role.isStaff }
}

extension SignedInContext {
    /// The user a request is about: the caller, or with `?user_id=` another user, which only
    /// staff may name. A `user_id` that is empty or not a user id is a 400, never ignored.
    public func subject(of request: Request) throws -> UUID {
        guard let text = request.uri.queryParameters["user_id"] else { return caller.userId }
        guard let id = UUID(uuidString: String(text)) else { throw APIError.invalidField("user_id", "must be a user id") }
        if id != caller.userId { try requireStaff() }
        return id
    }
}

extension Parameters {
    /// The path parameter `name` as a UUID. Anything else cannot name a thing, so it is
    /// `notFound`, the same 404 as an id that names nothing.
    public func uuid(_ name: String, or notFound: APIError) throws -> UUID {
        guard let text = get(name), let id = UUID(uuidString: text) else { throw notFound }
        return id
    }
}
