import Foundation
import GuildCore
import GuildTestSupport
import Testing

/// JSON text read and written without Codable, for event envelopes on every replica.
@Suite("JSON text: parsed and written by hand, as Foundation reads it", .watched)
struct JSONTextTests {
    @Test func everyKindOfValueRoundTrips() throws {
        let text = #"{"a":[1,-2.5,3e2,true,false,null],"b":{"c":"d\"e\\f\n\u00e9\ud83d\ude00/"},"empty":{},"list":[]}"#
        let value = try JSONValue(parsing: text)
        #expect(value["a"] == .array([.number(1), .number(-2.5), .number(300), .bool(true), .bool(false), .null]))
        #expect(value["b"]?["c"] == .string("d\"e\\f\né😀/"))
        #expect(value["empty"] == .object([:]))
        #expect(try JSONValue(parsing: value.jsonText()) == value)
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(value.jsonText().utf8)) == value, "Foundation reads what is written")
        #expect(try JSONValue(parsing: "  \"x\" \n") == .string("x"))
    }

    @Test func malformedTextIsRefused() {
        let bad = [
            "", "{", "[1,]", "{\"a\":}", "{\"a\" 1}", "tru", "01", "1.", "-", "\"open", "\"\u{01}\"", #""\x""#, #""\ud800""#,
            "{} {}", "[1] x", "nan", String(repeating: "[", count: 300) + String(repeating: "]", count: 300),
        ]
        for text in bad {
            #expect(throws: JSONTextError.self, "\(text.prefix(20))") { try JSONValue(parsing: text) }
        }
    }

    @Test func anEnvelopeRoundTripsAndNeedsItsFields() throws {
        let event = EventEnvelope(
            id: UUID(), type: "tickets.closed", occurredAt: Date(timeIntervalSince1970: 1_795_000_000), userId: nil,
            data: .object(["by": .null, "ticket_id": .string("t")])
        )
        #expect(try EventEnvelope.parse(event.json()) == event)
        #expect(throws: JSONTextError.self) { try EventEnvelope.parse(#"{"type":"x","occurred_at":"2026-11-18T00:00:00Z"}"#) }
    }
}
