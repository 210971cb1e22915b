import Foundation
import GuildCore
import GuildTestSupport
import HTTPTypes
import Hummingbird
import JWTKit
import Logging
import NIOCore
import Synchronization

/// Firebase Cloud Messaging as the tests play it, on the port the test script gave notify
/// (`FCM_API_BASE`, and the service account's `token_uri`):
///
/// - `POST /token`: Google's OAuth2 token endpoint. The JWT assertion must be signed (RS256) by
///   the test service account's key — checked against its public half — and claim what Google
///   requires (`iss`, `scope`, `aud`, `iat`, `exp` an hour on); it answers an access token.
/// - `POST /v1/projects/{project}/messages:send`: takes a v1 message sent with an access token
///   it issued, and records it; a token a test marked dead gets Google's 404 `UNREGISTERED`.
final class FakeFCM: Sendable {
    /// A message FCM took (or refused), as it arrived.
    struct Received: Sendable, Equatable {
        var project: String
        var token: String
        var title: String
        var body: String
        var data: [String: String]
        /// The answer's status.
        var status: Int
    }

    /// What the test script put in the service-account file.
    struct Account: Sendable {
        var projectId: String
        var clientEmail: String
        var privateKeyId: String
        var tokenURI: String
    }

    private let received = Mutex<[Received]>([])
    private let accessTokens = Mutex<Set<String>>([])
    private let dead = Mutex<Set<String>>([])
    private let unavailableOnce = Mutex<Set<String>>([])
    /// Assertions that verified, and those refused with the reason.
    let assertions = Mutex<(accepted: Int, refused: [String])>((0, []))
    /// `messages:send` calls refused for their access token.
    let unauthorized = Mutex(0)

    static let shared = FakeFCM()
    private static let server = FakeServer(name: "fake FCM")
    private static let keys = Mutex<JWTKeyCollection?>(nil)

    private init() {}

    // MARK: What tests arrange and look at

    /// Answers 404 `UNREGISTERED` for `token` from now on.
    func markDead(_ token: String) { _ = dead.withLock { $0.insert(token) } }

    /// Answers the next message to `token` with 503 `UNAVAILABLE` (and `Retry-After: 1`).
    func failOnce(_ token: String) { _ = unavailableOnce.withLock { $0.insert(token) } }

    /// Forgets every access token issued, as if Google had revoked them: the next send gets a 401.
    func revokeAccessTokens() { accessTokens.withLock { $0.removeAll() } }

    /// The messages that reached FCM for `token`, in order — broadcasts left out, since any test
    /// running at the same time may send one to every device.
    func messages(to token: String) -> [Received] {
        received.withLock { $0.filter { $0.token == token && $0.data["kind"] != "broadcast" } }
    }

    /// The broadcasts FCM took for `token`.
    func broadcasts(to token: String) -> [Received] {
        received.withLock { $0.filter { $0.token == token && $0.data["kind"] == "broadcast" && $0.status == 200 } }
    }

    /// The messages FCM took for `token`.
    func delivered(to token: String) -> [Received] {
        messages(to: token).filter { $0.status == 200 }
    }

    /// The service account the stack was given (`FCM_SERVICE_ACCOUNT_FILE`).
    static func account() throws -> Account {
        let path = try TestEnvironment.require("FCM_SERVICE_ACCOUNT_FILE")
        let file = try JSONValue(parsing: try String(contentsOfFile: path, encoding: .utf8))
        guard let project = file["project_id"]?.stringValue, let email = file["client_email"]?.stringValue,
            let kid = file["private_key_id"]?.stringValue, let tokenURI = file["token_uri"]?.stringValue
        else { throw StackClient.Failure(message: "\(path) lacks a field of a service account") }
        return Account(projectId: project, clientEmail: email, privateKeyId: kid, tokenURI: tokenURI)
    }

    // MARK: The token endpoint

    /// The assertion's claims, as Google reads them.
    struct Assertion: JWTPayload {
        var iss: String
        var scope: String
        var aud: String
        var iat: Double
        var exp: Double

        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    func token(request: Request, context: BasicRequestContext) async throws -> Response {
        let form = FakeDiscord.parseForm(String(buffer: try await request.body.collect(upTo: 64 * 1024)))
        func refuse(_ reason: String) -> Response {
            assertions.withLock { $0.refused.append(reason) }
            return Self.json(.badRequest, #"{"error":"invalid_grant","error_description":"\#(reason)"}"#)
        }
        guard request.headers[.contentType]?.hasPrefix("application/x-www-form-urlencoded") == true else { return refuse("not a form") }
        guard form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer" else { return refuse("grant_type") }
        guard let assertion = form["assertion"] else { return refuse("no assertion") }
        let account = try Self.account()
        let parts = assertion.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let header = Self.base64URLJSON(parts[0]) else { return refuse("not a JWT") }
        guard header["alg"] == .string("RS256"), header["kid"] == .string(account.privateKeyId) else {
            return refuse("header \(header.jsonText())")
        }
        let claims: Assertion
        do {
            claims = try await Self.verifier().verify(assertion, as: Assertion.self)
        } catch {
            return refuse("signature: \(error)")
        }
        let now = Date().timeIntervalSince1970
        guard claims.iss == account.clientEmail else { return refuse("iss \(claims.iss)") }
        guard claims.scope == "https://www.googleapis.com/auth/firebase.messaging" else { return refuse("scope \(claims.scope)") }
        guard claims.aud == account.tokenURI else { return refuse("aud \(claims.aud)") }
        guard abs(claims.iat - now) < 300, claims.exp - claims.iat == 3600 else { return refuse("iat \(claims.iat) exp \(claims.exp)") }
        assertions.withLock { $0.accepted += 1 }
        let accessToken = "ya29.fake-\(UUID().uuidString)"
        accessTokens.withLock { _ = $0.insert(accessToken) }
        return Self.json(.ok, #"{"access_token":"\#(accessToken)","expires_in":3599,"token_type":"Bearer"}"#)
    }

    /// Checks assertions against the public half of the test service account's key.
    private static func verifier() async throws -> JWTKeyCollection {
        if let keys = keys.withLock({ $0 }) { return keys }
        let pem = try String(contentsOfFile: try TestEnvironment.require("GUILDHALL_FAKE_FCM_PUBLIC_KEY"), encoding: .utf8)
        let kid = JWKIdentifier(string: try account().privateKeyId)
        let collection = await JWTKeyCollection().add(rsa: try Insecure.RSA.PublicKey(pem: pem), digestAlgorithm: .sha256, kid: kid)
        keys.withLock { $0 = collection }
        return collection
    }

    // MARK: messages:send

    func send(request: Request, context: BasicRequestContext) async throws -> Response {
        let project = context.parameters.get("project") ?? ""
        let header = request.headers[.authorization] ?? ""
        guard header.hasPrefix("Bearer "), accessTokens.withLock({ $0.contains(String(header.dropFirst(7))) }) else {
            unauthorized.withLock { $0 += 1 }
            return Self.error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        }
        let body = try JSONValue(parsing: String(buffer: try await request.body.collect(upTo: 1 << 20)))
        guard project == (try Self.account()).projectId,
            case .object(let message)? = body["message"], Set(message.keys) == ["token", "notification", "data"],
            let token = message["token"]?.stringValue,
            case .object(let notification)? = message["notification"], Set(notification.keys) == ["title", "body"],
            let title = notification["title"]?.stringValue, let text = notification["body"]?.stringValue,
            case .object(let data)? = message["data"], data["kind"]?.stringValue != nil
        else {
            return Self.error(400, "INVALID_ARGUMENT", "Invalid JSON payload received: \(body.jsonText().prefix(200))")
        }
        var strings: [String: String] = [:]
        for (key, value) in data {
            guard let text = value.stringValue else { return Self.error(400, "INVALID_ARGUMENT", "data.\(key) must be a string") }
            strings[key] = text
        }
        let status: Int
        let answer: Response
        // A broadcast another test sends at the same moment reaches every device: it is taken
        // whatever a test arranged for a device, so it neither uses up a failure nor drops a token.
        let isBroadcast = strings["kind"] == "broadcast"
        if isBroadcast {
            status = 200
            answer = Self.json(.ok, #"{"name":"projects/\#(project)/messages/0:\#(UUID().uuidString.lowercased())"}"#)
        } else if dead.withLock({ $0.contains(token) }) {
            status = 404
            answer = Self.error(404, "NOT_FOUND", "Requested entity was not found.", errorCode: "UNREGISTERED")
        } else if unavailableOnce.withLock({ $0.remove(token) != nil }) {
            status = 503
            var response = Self.error(503, "UNAVAILABLE", "The service is currently unavailable.", errorCode: "UNAVAILABLE")
            response.headers[.retryAfter] = "1"
            answer = response
        } else {
            status = 200
            answer = Self.json(.ok, #"{"name":"projects/\#(project)/messages/0:\#(UUID().uuidString.lowercased())"}"#)
        }
        received.withLock { $0.append(Received(project: project, token: token, title: title, body: text, data: strings, status: status)) }
        return answer
    }

    // MARK: Running

    /// Starts the fake (once per run); from then on it answers.
    func start() async throws {
        let port = Int(try TestEnvironment.require("GUILDHALL_FAKE_FCM_PORT")) ?? 0
        try await Self.server.start(port: port) { router in
            router.post("/token") { request, context in try await self.token(request: request, context: context) }
            router.post("/v1/projects/:project/messages:send") { request, context in try await self.send(request: request, context: context) }
        }
    }

    private static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json; charset=UTF-8"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// Google's error body, with FCM's `errorCode` detail when given.
    private static func error(_ code: Int, _ status: String, _ message: String, errorCode: String? = nil) -> Response {
        var error: [String: JSONValue] = ["code": .number(Double(code)), "message": .string(message), "status": .string(status)]
        if let errorCode {
            let type = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
            let detail: JSONValue = .object(["@type": .string(type), "errorCode": .string(errorCode)])
            error["details"] = .array([detail])
        }
        return json(HTTPResponse.Status(code: code), JSONValue.object(["error": .object(error)]).jsonText())
    }

    private static func base64URLJSON(_ part: Substring) -> JSONValue? {
        var text = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text) else { return nil }
        return try? JSONValue(parsing: String(decoding: data, as: UTF8.self))
    }
}
