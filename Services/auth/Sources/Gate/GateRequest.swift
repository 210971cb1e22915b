/// The head of one request to the verify-token listener, reduced to what the gate needs.
///
/// The listener is private to nginx, which sends the same small request for every gated call, so
/// it reads HTTP/1.x heads itself instead of through a general HTTP codec: the request line, and
/// of the headers only `Authorization`, `Connection`, `Content-Length` and `X-Request-Id`. Anything
/// it does not understand is `malformed`, answered with a 400 and the connection closed. Only CRLF
/// line ends are accepted; a body needs a `Content-Length` (`Transfer-Encoding` is refused), and is
/// skipped, since verify-token reads none.
struct GateRequest: Equatable {
    enum Method: Equatable {
        case get, post, other
    }

    static let verifyPath = "/api/auth/verify-token"

    var method: Method
    /// The path (without the query) is verify-token's.
    var isVerifyPath: Bool
    var authorization: String?
    var requestId: String?
    var keepAlive: Bool
    var bodyLength: Int

    enum Parse: Equatable {
        /// The head has not fully arrived yet.
        case incomplete
        /// A whole head, `length` bytes long including its closing empty line.
        case request(GateRequest, length: Int)
        case malformed
        /// The head is longer than the limit without having ended.
        case tooLarge
    }

    /// Parses the head at the start of `bytes`, if it is complete.
    static func parse(_ bytes: UnsafeRawBufferPointer, limit: Int) -> Parse {
        var lines = Lines(bytes: bytes)
        var ended: Parse {
            if lines.overran { return .malformed }
            return bytes.count > limit ? .tooLarge : .incomplete
        }
        guard let requestLine = lines.next() else { return ended }
        guard var request = Self.requestLine(bytes, requestLine) else { return .malformed }
        var close = false
        var keepAliveAsked = false
        var contentLength: Int?
        while true {
            guard let line = lines.next() else { return ended }
            if line.isEmpty { break }
            guard let field = Self.field(bytes, line) else { return .malformed }
            switch field.name {
            case .authorization:
                guard request.head.authorization == nil else { return .malformed }
                request.head.authorization = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.value]), as: UTF8.self)
            case .requestId:
                request.head.requestId = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.value]), as: UTF8.self)
            case .connection:
                for option in UnsafeRawBufferPointer(rebasing: bytes[field.value]).split(separator: UInt8(ascii: ",")) {
                    let option = option.trimmingSpaces()
                    if option.equalsIgnoringCase("close") { close = true }
                    if option.equalsIgnoringCase("keep-alive") { keepAliveAsked = true }
                }
            case .contentLength:
                let digits = UnsafeRawBufferPointer(rebasing: bytes[field.value])
                guard !digits.isEmpty, digits.count <= 12, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return .malformed }
                let length = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
                guard contentLength == nil || contentLength == length else { return .malformed }
                contentLength = length
            case .transferEncoding:
                return .malformed
            case .other:
                break
            }
        }
        guard lines.position <= limit else { return .tooLarge }
        request.head.keepAlive = request.version == .http10 ? keepAliveAsked && !close : !close
        request.head.bodyLength = contentLength ?? 0
        return .request(request.head, length: lines.position)
    }

    private enum Version { case http10, http11 }

    /// `METHOD SP target SP HTTP/1.x`.
    private static func requestLine(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) -> (head: GateRequest, version: Version)? {
        let parts = UnsafeRawBufferPointer(rebasing: bytes[line]).split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(isTokenCharacter),
            let first = parts[1].first, first == UInt8(ascii: "/"), parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { return nil }
        let version: Version
        if parts[2].elementsEqual("HTTP/1.1".utf8) {
            version = .http11
        } else if parts[2].elementsEqual("HTTP/1.0".utf8) {
            version = .http10
        } else {
            return nil
        }
        let method: Method = parts[0].elementsEqual("GET".utf8) ? .get : parts[0].elementsEqual("POST".utf8) ? .post : .other
        let path = parts[1].prefix { $0 != UInt8(ascii: "?") }
        let head = GateRequest(
            method: method, isVerifyPath: path.elementsEqual(verifyPath.utf8), authorization: nil, requestId: nil,
            keepAlive: true, bodyLength: 0
        )
        return (head, version)
    }

    private enum FieldName {
        case authorization, requestId, connection, contentLength, transferEncoding, other
    }

    /// `name: OWS value OWS`, with the value's range.
    private static func field(_ bytes: UnsafeRawBufferPointer, _ line: Range<Int>) -> (name: FieldName, value: Range<Int>)? {
        guard let colon = bytes[line].firstIndex(of: UInt8(ascii: ":")), colon > line.lowerBound else { return nil }
        let name = UnsafeRawBufferPointer(rebasing: bytes[line.lowerBound..<colon])
        guard name.allSatisfy(isTokenCharacter) else { return nil }
        var start = colon + 1
        var end = line.upperBound
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
        guard bytes[start..<end].allSatisfy({ $0 >= 0x20 && $0 != 0x7F || $0 == 0x09 }) else { return nil }
        let known: FieldName =
            if name.equalsIgnoringCase("authorization") { .authorization }
            else if name.equalsIgnoringCase("x-request-id") { .requestId }
            else if name.equalsIgnoringCase("connection") { .connection }
            else if name.equalsIgnoringCase("content-length") { .contentLength }
            else if name.equalsIgnoringCase("transfer-encoding") { .transferEncoding }
            else { .other }
        return (known, start..<end)
    }

    /// RFC 9110's `tchar`.
    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    /// CRLF-ended lines from the start of a buffer; `nil` when no whole line is left, with
    /// `overran` set if a bare CR or LF made the head unreadable.
    private struct Lines {
        let bytes: UnsafeRawBufferPointer
        var position = 0
        var overran = false

        mutating func next() -> Range<Int>? {
            var index = position
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\n"):
                    overran = true  // a LF without its CR
                    return nil
                case UInt8(ascii: "\r"):
                    guard index + 1 < bytes.count else { return nil }
                    guard bytes[index + 1] == UInt8(ascii: "\n") else {
                        overran = true
                        return nil
                    }
                    defer { position = index + 2 }
                    return position..<index
                default:
                    index += 1
                }
            }
            return nil
        }
    }
}

extension Collection<UInt8> {
    fileprivate func equalsIgnoringCase(_ lowercase: StaticString) -> Bool {
        let other = UnsafeRawBufferPointer(start: lowercase.utf8Start, count: lowercase.utf8CodeUnitCount)
        return elementsEqual(other) { ($0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0) == $1 }
    }
}

extension BidirectionalCollection<UInt8> {
    fileprivate func trimmingSpaces() -> SubSequence {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return self[endIndex..<endIndex] }
        var slice = self[first...]
        while let last = slice.last, isSpace(last) { slice = slice.dropLast() }
        return slice
    }
}
