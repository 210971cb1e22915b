import Foundation
import GuildCore
import GuildServiceKit
import GuildTestSupport
import Testing

/// The contract's JSON rules, set once in the kit instead of in every model.
@Suite("JSON rules: snake_case names, nulls written, lower-case UUIDs, RFC 3339 times", .watched)
struct GuildJSONTests {
    struct Booking: Codable, Sendable {
        var id: UUID
        var userId: UUID
        var vmId: String?
        var hoursRefunded: Int?
        var startTime: Date
        var price: Double
        var tags: [String: Int]
        var nested: [Inner]
    }

    struct Inner: Codable, Sendable, Equatable {
        var gameName: String
        var note: String?
    }

    struct Renamed: Encodable {
        var memoryGB: Int
        enum CodingKeys: String, CodingKey { case memoryGB = "memory" }
    }

    static let id = UUID(uuidString: "0193F2A4-5B6C-7D8E-9F00-112233445566")!

    func object(_ value: some Encodable) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(GuildJSON.encode(value))) as? [String: Any])
    }

    @Test func propertiesAreSnakeCaseNilsAreNullUUIDsLowerCaseAndDatesRFC3339() throws {
        let booking = Booking(
            id: Self.id, userId: Self.id, vmId: nil, hoursRefunded: nil, startTime: Date(timeIntervalSince1970: 1_795_000_000),
            price: 9.99, tags: ["camelKey": 1], nested: [Inner(gameName: "x", note: nil)]
        )
        let text = try GuildJSON.string(booking)
        #expect(text.contains(#""id":"0193f2a4-5b6c-7d8e-9f00-112233445566""#))
        #expect(text.contains(#""user_id":"0193f2a4-5b6c-7d8e-9f00-112233445566""#))
        #expect(text.contains(#""vm_id":null"#))
        #expect(text.contains(#""hours_refunded":null"#))
        #expect(text.contains(#""start_time":"2026-11-18T11:06:40Z""#))
        #expect(text.contains(#""price":9.99"#))
        // Dictionary keys are data, not property names.
        #expect(text.contains(#""tags":{"camelKey":1}"#))
        #expect(text.contains(#""nested":[{"game_name":"x","note":null}]"#))
        #expect(!text.contains("userId"))
    }

    @Test func whatItWritesTheRequestDecoderReadsBack() throws {
        let inner = Inner(gameName: "Ench \"quoted\" \\ \n\t\u{01} ünïcode", note: nil)
        let decoded = try GuildJSON.decoder.decode(Inner.self, from: Data(GuildJSON.encode(inner)))
        #expect(decoded == inner)
        let fractional = try GuildJSON.decoder.decode([String: Date].self, from: Data(#"{"at":"2026-11-22T10:30:00.000Z"}"#.utf8))
        #expect(fractional["at"] == RFC3339.parse("2026-11-22T10:30:00Z"))
    }

    /// A chart's series writes its own JSON; it is what its `Codable` conformance encodes.
    @Test func aDailyFigureWritesWhatItsCodableConformanceEncodes() throws {
        let figure = DailyFigure(total: 9_007_199_254, series: [
            DailyPoint(date: "2026-11-30", value: 0), DailyPoint(date: "2026-12-01", value: -3), DailyPoint(date: "2026-12-02", value: 9_007_199_257),
        ])
        struct Stats: Encodable { var hoursBooked: DailyFigure; var byKey: [String: DailyFigure] }
        let written = try JSONValue(parsing: GuildJSON.encode(Stats(hoursBooked: figure, byKey: ["a\"b": figure, "empty": DailyFigure(total: 0, series: [])])))
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let expected = try JSONDecoder().decode(JSONValue.self, from: encoder.encode(Stats(hoursBooked: figure, byKey: ["a\"b": figure, "empty": DailyFigure(total: 0, series: [])])))
        #expect(written == expected)
        #expect(try GuildJSON.decoder.decode(DailyFigure.self, from: Data(GuildJSON.encode(figure))) == figure)
    }

    @Test func explicitNamesAreKeptAndWholeNumbersHaveNoFraction() throws {
        #expect(try GuildJSON.string(Renamed(memoryGB: 16)) == #"{"memory":16}"#)
        #expect(try GuildJSON.string([10.0, 0.5, -3.0]) == "[10,0.5,-3]")
        #expect(throws: EncodingError.self) { try GuildJSON.encode([Double.nan]) }
    }

    @Test(arguments: [("hoursBalance", "hours_balance"), ("id", "id"), ("vmId", "vm_id"), ("memoryGB", "memory_gb"), ("already_snake", "already_snake"), ("aBC", "a_bc")])
    func snakeCase(name: String, expected: String) {
        #expect(GuildJSON.snakeCase(name) == expected)
    }

    @Test func aPageFetchesOneMoreToKnowWhetherAnotherFollows() throws {
        struct Item: Encodable, Sendable { var id: UUID }
        struct Unread: Encodable, Sendable { var unreadCount: Int }
        let request = PageRequest(limit: 2)
        #expect(request.fetchLimit == 3)
        let items = (0..<3).map { _ in Item(id: UUID()) }

        let full = Page(fetched: Array(items.prefix(2)), request: request, extra: Unread(unreadCount: 4)) { $0.id }
        let fullJSON = try object(full)
        #expect(fullJSON["next_cursor"] is NSNull, "a page exactly full with nothing after it has no next page")
        #expect(fullJSON["unread_count"] as? Int == 4)
        #expect((fullJSON["items"] as? [Any])?.count == 2)

        let more = Page(fetched: items, request: request, itemsKey: "transactions") { $0.id }
        let moreJSON = try object(more)
        #expect(moreJSON["next_cursor"] as? String == items[1].id.uuidString.lowercased())
        #expect((moreJSON["transactions"] as? [Any])?.count == 2)
        #expect(moreJSON["items"] == nil)
    }
}
