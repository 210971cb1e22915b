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

/// One page of a list: `{"items": [...], "next_cursor": "..." | null}`.
public struct Page<Item: Encodable & Sendable>: ResponseEncodable, Sendable {
    /// The items of this page.
    public var items: [Item]
    /// The cursor of the next page; nil (sent as `null`) on the last one.
    public var nextCursor: String?

    /// Makes a page from up to `limit + 1` items fetched: the extra one only says there is more.
    public init(fetched: [Item], limit: Int, cursor: (Item) -> String) {
        self.items = Array(fetched.prefix(limit))
        self.nextCursor = fetched.count > limit ? items.last.map(cursor) : nil
    }

    enum CodingKeys: String, CodingKey {
        case items
        case nextCursor = "next_cursor"
    }

    /// Encodes `next_cursor` as `null` rather than leaving it out.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(items, forKey: .items)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}
