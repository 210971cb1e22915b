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

    /// Events keep their time to the microsecond, so two of one second keep their order.
    @Test func anEnvelopesTimeKeepsItsMicroseconds() throws {
        let base = 1_795_000_000.0
        let times = [base + 0.000_001, base + 0.000_002, base + 0.5, base + 0.999_999]
        let parsed = try times.map { time in
            try EventEnvelope.parse(EventEnvelope(type: "x", occurredAt: Date(timeIntervalSince1970: time), userId: nil, data: .null).json()).occurredAt
        }
        for (time, date) in zip(times, parsed) {
            #expect(abs(date.timeIntervalSince1970 - time) < 0.000_000_5, "\(time) came back as \(date.timeIntervalSince1970)")
        }
        #expect(parsed == parsed.sorted())
        #expect(RFC3339.formatMicroseconds(Date(timeIntervalSince1970: base + 0.000_042)).hasSuffix(".000042Z"))
        #expect(RFC3339.parse("2026-11-22T10:30:00.5+02:00") == RFC3339.parse("2026-11-22T08:30:00.500Z"))
    }
}
