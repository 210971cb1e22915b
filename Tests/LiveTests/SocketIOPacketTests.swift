import Foundation
import GuildCore
import GuildLive
import Testing

/// The Socket.IO v5 packet codec and the Engine.IO v4 packets the server writes.
@Suite("Socket.IO packets: read and written as the specifications say")
struct SocketIOPacketTests {
    @Test(arguments: [
        ("0", SocketIOPacket.Kind.connect, "/", nil as Int?),
        ("0/admin,", .connect, "/admin", nil),
        ("0{\"token\":\"x\"}", .connect, "/", nil),
        ("1", .disconnect, "/", nil),
        ("1/admin,", .disconnect, "/admin", nil),
        ("2[\"ping\",{}]", .event, "/", nil),
        ("212[\"ping\"]", .event, "/", 12),
        ("2/admin,7[\"x\"]", .event, "/admin", 7),
        ("37[]", .ack, "/", 7),
        ("4{\"message\":\"no\"}", .connectError, "/", nil),
        ("51-[\"x\",{\"_placeholder\":true,\"num\":0}]", .binaryEvent, "/", nil),
        ("52-/admin,9[\"x\",{\"_placeholder\":true,\"num\":0},{\"_placeholder\":true,\"num\":1}]", .binaryEvent, "/admin", 9),
        ("61-3[{\"_placeholder\":true,\"num\":0}]", .binaryAck, "/", 3),
    ])
    func everyPacketTypeIsRead(text: String, kind: SocketIOPacket.Kind, namespace: String, id: Int?) throws {
        let packet = try #require(SocketIOPacket(parsing: Substring(text)), "\(text) was not read")
        #expect(packet.kind == kind)
        #expect(packet.namespace == namespace)
        #expect(packet.id == id)
        if kind == .binaryEvent || kind == .binaryAck {
            #expect(packet.attachments == Int(text.dropFirst().prefix { $0.isNumber }))
        }
    }

    @Test func aPacketsPayloadIsItsJSON() throws {
        let packet = try #require(SocketIOPacket(parsing: "0{\"token\":\"abc\"}"))
        #expect(packet.payload?["token"]?.stringValue == "abc")
        let event = try #require(SocketIOPacket(parsing: "25[\"join\",{\"id\":1}]"))
        #expect(event == SocketIOPacket(kind: .event, id: 5, payload: .array([.string("join"), .object(["id": .number(1)])])))
    }

    @Test(arguments: ["", "7", "a", "abc", "2{", "2abc[\"x\"]", "2[\"x\"", "5[\"x\"]", "5-[\"x\"]", "5x-[\"x\"]", "21234567890123456[\"x\"]", "51234567-[\"x\"]"])
    func whatIsNoPacketIsRefused(text: String) {
        #expect(SocketIOPacket(parsing: Substring(text)) == nil, "\(text) was read as a packet")
    }

    @Test func placeholdersNameTheirAttachments() throws {
        let packet = try #require(SocketIOPacket(parsing: "52-[\"x\",{\"a\":{\"_placeholder\":true,\"num\":1}},[{\"_placeholder\":true,\"num\":0}]]"))
        #expect(packet.placeholders.sorted() == [0, 1])
        let odd = try #require(SocketIOPacket(parsing: "51-[\"x\",{\"_placeholder\":true,\"num\":0.5}]"))
        #expect(odd.placeholders == [-1])
        #expect(SocketIOPacket(parsing: "2[\"x\",{\"_placeholder\":false,\"num\":0}]")?.placeholders == [])
    }

    @Test func serverPacketsAreWrittenAsTheSpecificationSays() {
        #expect(SocketIOPacket.event(fromFrame: #"{"type":"pong"}"#) == #"2["pong",{}]"#)
        #expect(SocketIOPacket.event(fromFrame: #"{"type":"x","a":"b"}"#) == #"2["x",{"a":"b"}]"#)
        #expect(SocketIOPacket.event(fromFrame: "[1]") == nil)
        #expect(SocketIOPacket.event(fromFrame: #"{"a":1}"#) == nil)
        #expect(SocketIOPacket.ack(4, frame: nil) == "34[]")
        #expect(SocketIOPacket.ack(4, frame: #"{"a":1}"#) == #"34[{"a":1}]"#)
        #expect(SocketIOPacket.connected(socketId: "abc") == #"0{"sid":"abc"}"#)
        #expect(SocketIOPacket.connectError("no") == #"4{"message":"no"}"#)
        #expect(SocketIOPacket.connectError("no", namespace: "/x") == #"4/x,{"message":"no"}"#)
        #expect(SocketIOPacket.disconnect() == "1")
    }

    @Test func deliveriesBecomeTheEngineIOPacketsThatCarryThem() {
        #expect(EngineIO.packets(for: .frame(#"{"type":"pong"}"#, ack: nil)) == [#"42["pong",{}]"#])
        #expect(EngineIO.packets(for: .frame(#"{"type":"pong"}"#, ack: 2)) == [#"432[{"type":"pong"}]"#])
        #expect(EngineIO.packets(for: .frame("not an object", ack: nil)) == [])
        #expect(EngineIO.packets(for: .last(#"{"type":"session_ended","reason":"logged_out"}"#)) == [#"42["session_ended",{"reason":"logged_out"}]"#, "41"])
        #expect(EngineIO.packets(for: .acknowledgement(3)) == ["433[]"])
        #expect(EngineIO.packets(for: .packet("2")) == ["2"])
    }

    @Test func theOpenPacketAnnouncesTheServersSettings() throws {
        let open = EngineIO.openPacket(sid: "r.abc", upgrades: ["websocket"])
        #expect(open.first == "0")
        let fields = try JSONValue(parsing: String(open.dropFirst()))
        #expect(fields["sid"]?.stringValue == "r.abc")
        #expect(fields["upgrades"] == .array([.string("websocket")]))
        #expect(fields["pingInterval"] == .number(25000))
        #expect(fields["pingTimeout"] == .number(20000))
        #expect(fields["maxPayload"] == .number(1_000_000))
    }

    @Test func idsAreRandomURLSafeAndCarryTheirReplica() {
        let ids = (0..<100).map { _ in EngineIO.makeId(prefix: "notify-1") }
        #expect(Set(ids).count == 100)
        for id in ids {
            #expect(id.hasPrefix("notify-1."))
            #expect(id.dropFirst("notify-1.".count).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") })
        }
        #expect(EngineSessions.replicaId(configured: "a b/c-1") == "abc-1")
        #expect(EngineSessions.replicaId(configured: "///") == "notify")
    }
}
