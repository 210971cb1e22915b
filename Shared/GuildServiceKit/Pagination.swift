import Foundation
import GuildCore
import Hummingbird

/// `?limit=` and `?cursor=` of a list request, as the contract defines them.
public struct PageRequest: Sendable, Equatable {
    /// How many items the page shows: default 50, 1 to 200.
    public var limit: Int
    /// The id of the last item of the previous page; nil for the first page.
    public var cursor: UUID?

    /// How many items to fetch: one more than the page shows, so the extra one says whether
    /// there is a next page.
    public var fetchLimit: Int { limit + 1 }

    /// Creates a page request.
    public init(limit: Int = 50, cursor: UUID? = nil) {
        self.limit = limit
        self.cursor = cursor
    }

    /// Reads `limit` and `cursor` from `request`; a bad value is a 400 naming the field.
    public init(_ request: Request, defaultLimit: Int = 50) throws {
        self.limit = try Self.limit(request, default: defaultLimit)
        if let text = request.uri.queryParameters["cursor"], !text.isEmpty {
            // Cursors are opaque to clients; here the id of the last item of the previous page.
            guard let cursor = UUID(uuidString: String(text)) else { throw APIError.invalidField("cursor", "is not a cursor this API returned") }
            self.cursor = cursor
        }
    }

    /// `?limit=` of `request`: 1 to 200, `default` when absent; a 400 naming it otherwise.
    static func limit(_ request: Request, default defaultLimit: Int) throws -> Int {
        guard let text = request.uri.queryParameters["limit"] else { return defaultLimit }
        guard let limit = Int(String(text)), (1...200).contains(limit) else {
            throw APIError.invalidField("limit", "must be an integer from 1 to 200")
        }
        return limit
    }
}

/// `?limit=` and `?cursor=` of a list ordered by a number its rows are given in turn (a
/// `bigserial` id): newest first, the cursor being the number of the last item shown.
public struct SequencePageRequest: Sendable, Equatable {
    /// How many items the page shows: default 50, 1 to 200.
    public var limit: Int
    /// The number of the last item of the previous page; nil for the first page.
    public var cursor: Int64?
    /// How many items to fetch: one more than the page shows.
    public var fetchLimit: Int { limit + 1 }

    /// Reads `limit` and `cursor` from `request`; a bad value is a 400 naming the field.
    public init(_ request: Request, defaultLimit: Int = 50) throws {
        self.limit = try PageRequest.limit(request, default: defaultLimit)
        self.cursor = try request.query("cursor").map { text in
            guard let id = Int64(text), id > 0 else { throw APIError.invalidField("cursor", "is not a cursor this API returned") }
            return id
        }
    }
}

/// One page of a list: `{"items": [...], "next_cursor": "..." | null}`, where a list may name
/// its items otherwise (`transactions`) and carry fields of its own beside them (`unread_count`).
public struct Page<Item: Encodable & Sendable>: ResponseEncodable, Sendable {
    /// The items of this page.
    public var items: [Item]
    /// The cursor of the next page; nil (sent as `null`) on the last one.
    public var nextCursor: String?
    /// The name the items are sent under.
    public var itemsKey: String
    /// Fields sent beside the items, encoded into the same object.
    public var extra: (any Encodable & Sendable)?

    /// Makes a page from up to `request.fetchLimit` items fetched: the extra one only says there
    /// is more. `cursor` gives the cursor that follows an item.
    public init(
        fetched: [Item], request: PageRequest, itemsKey: String = "items", extra: (any Encodable & Sendable)? = nil,
        cursor: (Item) -> UUID
    ) {
        self.items = Array(fetched.prefix(request.limit))
        self.nextCursor = fetched.count > request.limit ? items.last.map { cursor($0).uuidString.lowercased() } : nil
        self.itemsKey = itemsKey
        self.extra = extra
    }

    /// Makes a page from up to `request.fetchLimit` items of a numbered list; `number` gives an
    /// item's number, the cursor that follows it.
    public init(fetched: [Item], request: SequencePageRequest, number: (Item) -> Int64) {
        self.items = Array(fetched.prefix(request.limit))
        self.nextCursor = fetched.count > request.limit ? items.last.map { String(number($0)) } : nil
        self.itemsKey = "items"
        self.extra = nil
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { self.stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// Encodes the extra fields, the items and `next_cursor` (as `null` on the last page).
    public func encode(to encoder: any Encoder) throws {
        try extra?.encode(to: encoder)
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(items, forKey: Key(itemsKey))
        try container.encode(nextCursor, forKey: Key("next_cursor"))
    }
}
