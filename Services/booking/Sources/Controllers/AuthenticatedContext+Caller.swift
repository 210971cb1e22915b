import Foundation
import GuildCore
import GuildServiceKit

extension AuthenticatedContext {
    /// The caller's user id and role.
    var caller: Caller {
        get throws {
            guard let id = UUID(uuidString: identity.userId) else { throw APIError.unauthorized("the token does not name a user") }
            return Caller(userId: id, role: identity.role)
        }
    }
}

/// A path parameter that is a UUID; anything else cannot name a thing, so it is a 404.
func uuidParameter(_ value: String?, what: String) throws -> UUID {
    guard let value, let id = UUID(uuidString: value) else { throw APIError.notFound(what) }
    return id
}
