import Foundation
import GuildCore
import Hummingbird

/// `?limit=` and `?cursor=` as the contract defines them.
public enum Pagination {
    /// `limit`: default 50, 1 to 200; anything else is a 400 naming the field.
    public static func limit(_ request: Request, default defaultLimit: Int = 50) throws -> Int {
        guard let text = request.uri.queryParameters["limit"] else { return defaultLimit }
        guard let limit = Int(String(text)), (1...200).contains(limit) else { throw APIError.invalidField("limit", "must be an integer from 1 to 200") }
        return limit
    }

    /// `cursor`: opaque to clients; here the id of the last item of the previous page.
    public static func cursor(_ request: Request) throws -> UUID? {
        guard let text = request.uri.queryParameters["cursor"], !text.isEmpty else { return nil }
        guard let cursor = UUID(uuidString: String(text)) else { throw APIError.invalidField("cursor", "is not a cursor this API returned") }
        return cursor
    }
}
