import AsyncHTTPClient
import Foundation
import GuildClients
import Hummingbird
import JWTKit
import Logging
import NIOCore

/// The OAuth2 access tokens FCM wants, from Google's token endpoint with a signed JWT assertion
/// (RFC 7523): one is kept until five minutes before it expires, and however many sends need a
/// new one at once, only one request for it is made.
actor FCMAccessTokens {
    /// The scope that lets a token send messages.
    static let scope = "https://www.googleapis.com/auth/firebase.messaging"

    private let configuration: FCMConfiguration
    private let keys: JWTKeyCollection
    private let timeout: Duration
    private var current: (token: String, renewAt: Date)?
    private var renewing: Task<(token: String, renewAt: Date), any Error>?

    /// Creates the cache; nothing is fetched until a send needs a token.
    init(configuration: FCMConfiguration, timeout: Duration = .seconds(10)) async {
        self.configuration = configuration
        self.timeout = timeout
        let account = configuration.account
        let kid = account.privateKeyId.map(JWKIdentifier.init(string:))
        keys = await JWTKeyCollection().add(rsa: account.privateKey, digestAlgorithm: .sha256, kid: kid)
    }

    /// A token that is good for at least five more minutes.
    func token() async throws -> String {
        if let current, current.renewAt > Date() { return current.token }
        if let renewing { return try await renewing.value.token }
        let task = Task { try await self.fetch() }
        renewing = task
        defer { renewing = nil }
        let fetched = try await task.value
        current = fetched
        return fetched.token
    }

    /// Forgets `token` (FCM answered 401 to it), so the next ``token()`` fetches a new one.
    func invalidate(_ token: String) {
        if current?.token == token { current = nil }
    }

    // MARK: The token endpoint

    /// The assertion's claims (Google's "Using OAuth 2.0 for server to server applications").
    struct Assertion: JWTPayload {
        var iss: IssuerClaim
        var scope: String
        var aud: AudienceClaim
        var iat: IssuedAtClaim
        var exp: ExpirationClaim

        /// Only ever signed here; Google checks it.
        func verify(using algorithm: some JWTAlgorithm) async throws {}
    }

    /// What the token endpoint answers.
    private struct Grant: Decodable {
        var accessToken: String
        var expiresIn: Int?
    }

    /// A signed assertion for the token endpoint, valid for an hour from `now`.
    func assertion(now: Date = Date()) async throws -> String {
        let issued = Date(timeIntervalSince1970: now.timeIntervalSince1970.rounded(.down))
        let claims = Assertion(
            iss: IssuerClaim(value: configuration.account.clientEmail),
            scope: Self.scope,
            aud: AudienceClaim(value: [configuration.tokenURL]),
            iat: IssuedAtClaim(value: issued),
            exp: ExpirationClaim(value: issued.addingTimeInterval(3600))
        )
        return try await keys.sign(claims, kid: configuration.account.privateKeyId.map(JWKIdentifier.init(string:)))
    }

    private func fetch() async throws -> (token: String, renewAt: Date) {
        let form = try URLEncodedFormEncoder().encode(["grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": try await assertion()])
        var request = HTTPClientRequest(url: configuration.tokenURL)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(ByteBuffer(string: form))
        let answer: OutboundCall.Answer
        do {
            answer = try await OutboundCall(target: "fcm_token", timeout: timeout).send(request)
        } catch {
            throw FCMFailure.unreachable("Google's token endpoint could not be reached: \(error)")
        }
        let (status, text) = (answer.status, answer.text)
        guard (200..<300).contains(status) else {
            let said = "Google's token endpoint answered \(status): \(text.prefix(300))"
            throw status == 429 || status >= 500 ? FCMFailure.unreachable(said) : FCMFailure.unauthorized(said)
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        guard let grant = try? decoder.decode(Grant.self, from: Data(text.utf8)), !grant.accessToken.isEmpty else {
            throw FCMFailure.unauthorized("Google's token endpoint answered without an access_token")
        }
        // Renewed five minutes before it runs out (a token that lives less than that, after half its life).
        let lifetime = Double(max(grant.expiresIn ?? 3600, 0))
        let kept = lifetime > 300 ? lifetime - 300 : lifetime / 2
        return (grant.accessToken, Date().addingTimeInterval(kept))
    }

}

/// Why an access token could not be had.
enum FCMFailure: Error, CustomStringConvertible {
    /// No answer, or an answer saying to come back later (429, 5xx).
    case unreachable(String)
    /// The endpoint refused the assertion (a wrong key, account or clock).
    case unauthorized(String)

    var description: String {
        switch self {
        case .unreachable(let said), .unauthorized(let said): said
        }
    }
}
