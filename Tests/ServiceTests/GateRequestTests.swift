@testable import AuthService
import GuildTestSupport
import Testing

/// The verify-token listener's reading of request heads.
@Suite("auth: the verify-token listener's request reader", .watched)
struct GateRequestTests {
    static let limit = 16 * 1024

    static func parse(_ text: String, limit: Int = limit) -> GateRequest.Parse {
        Array(text.utf8).withUnsafeBytes { GateRequest.parse($0, limit: limit) }
    }

    static let nginx = "GET /api/auth/verify-token HTTP/1.1\r\nHost: guildhall_auth_verify\r\nAuthorization: Bearer abc.def.ghi\r\nX-Request-Id: 5f2c\r\n\r\n"

    @Test func nginxsSubrequestIsReadWhole() {
        let expected = GateRequest(
            method: .get, isVerifyPath: true, authorization: "Bearer abc.def.ghi", requestId: "5f2c", keepAlive: true, bodyLength: 0
        )
        #expect(Self.parse(Self.nginx) == .request(expected, length: Self.nginx.utf8.count))
    }

    @Test func aHeadIsIncompleteUntilItsEmptyLineArrives() {
        let bytes = Array(Self.nginx.utf8)
        for end in 0..<bytes.count {
            let parsed = bytes[..<end].withUnsafeBytes { GateRequest.parse($0, limit: Self.limit) }
            #expect(parsed == .incomplete, "after \(end) bytes")
        }
    }

    @Test func onlyTheFirstOfPipelinedRequestsIsTakenAndTheRestIsLeft() throws {
        let second = "POST /api/auth/verify-token?x=1 HTTP/1.1\r\nauthorization:Bearer t2\r\ncontent-length: 3\r\n\r\nabc"
        guard case .request(let first, let length) = Self.parse(Self.nginx + second) else {
            Issue.record("the first request was not read")
            return
        }
        #expect(first.authorization == "Bearer abc.def.ghi")
        #expect(length == Self.nginx.utf8.count)
        guard case .request(let next, let nextLength) = Self.parse(second) else {
            Issue.record("the second request was not read")
            return
        }
        #expect(next.method == .post && next.isVerifyPath && next.authorization == "Bearer t2" && next.bodyLength == 3)
        #expect(nextLength == second.utf8.count - 3)
    }

    @Test func headerNamesIgnoreCaseAndValuesLoseTheirSurroundingSpace() {
        let text = "GET /api/auth/verify-token HTTP/1.1\r\nAUTHORIZATION: \t Bearer x \t\r\nConnection: Keep-Alive, CLOSE\r\n\r\n"
        guard case .request(let request, _) = Self.parse(text) else {
            Issue.record("not read")
            return
        }
        #expect(request.authorization == "Bearer x")
        #expect(!request.keepAlive)
    }

    @Test func keepAliveFollowsTheVersionAndTheConnectionHeader() {
        let cases: [(String, String, Bool)] = [
            ("HTTP/1.1", "", true),
            ("HTTP/1.1", "Connection: close\r\n", false),
            ("HTTP/1.0", "", false),
            ("HTTP/1.0", "Connection: keep-alive\r\n", true),
            ("HTTP/1.0", "Connection: keep-alive, close\r\n", false),
        ]
        for (version, header, keepAlive) in cases {
            guard case .request(let request, _) = Self.parse("GET /api/auth/verify-token \(version)\r\n\(header)\r\n") else {
                Issue.record("not read: \(version) \(header)")
                continue
            }
            #expect(request.keepAlive == keepAlive, "\(version) \(header)")
        }
    }

    @Test func otherPathsAndMethodsAreReadButNotTheGates() {
        guard case .request(let other, _) = Self.parse("DELETE /api/auth/verify-tokens HTTP/1.1\r\n\r\n") else {
            Issue.record("not read")
            return
        }
        #expect(other.method == .other && !other.isVerifyPath && other.authorization == nil)
    }

    @Test(arguments: [
        "NOT HTTP AT ALL\r\n\r\n",
        "GET /api/auth/verify-token HTTP/2.0\r\n\r\n",
        "GET  /api/auth/verify-token HTTP/1.1\r\n\r\n",
        "GET api/auth/verify-token HTTP/1.1\r\n\r\n",
        "G(T /api/auth/verify-token HTTP/1.1\r\n\r\n",
        "GET /api/auth/verify-token HTTP/1.1\nHost: x\n\n",
        "GET /api/auth/verify-token HTTP/1.1\r\nHost x\r\n\r\n",
        "GET /api/auth/verify-token HTTP/1.1\r\nHost : x\r\n\r\n",
        "GET /api/auth/verify-token HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
        "GET /api/auth/verify-token HTTP/1.1\r\nX-Bad: a\u{01}b\r\n\r\n",
        "GET /api/auth/verify-token HTTP/1.1\r\nAuthorization: Bearer a\r\nAuthorization: Bearer b\r\n\r\n",
        "GET /api/auth/verify-token HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "GET /api/auth/verify-token HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        "POST /api/auth/verify-token HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
    ])
    func malformedHeadsAreRefused(_ text: String) {
        #expect(Self.parse(text) == .malformed)
    }

    @Test func aHeadOverTheLimitIsTooLarge() {
        let long = "GET /api/auth/verify-token HTTP/1.1\r\nX-Padding: " + String(repeating: "a", count: 200)
        #expect(Self.parse(long, limit: 100) == .tooLarge)
        #expect(Self.parse(long + "\r\n\r\n", limit: 100) == .tooLarge)
        #expect(Self.parse(long + "\r\n\r\n", limit: 1000) != .tooLarge)
    }
}
