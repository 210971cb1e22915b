import AsyncHTTPClient
import Foundation
import GuildClients
import Hummingbird
import NIOCore
import NIOFoundationCompat

/// The two calls of Discord's OAuth2 API a login makes: the code's exchange and the user.
struct DiscordAPI: Sendable {
    let settings: DiscordSettings
    private let discord = OutboundCall(target: "discord", timeout: .seconds(10), bodyLimit: 64 * 1024)

    init(settings: DiscordSettings) {
        self.settings = settings
    }

    struct User: Decodable {
        var id: String
        var username: String
        var globalName: String?
        var avatar: String?
        enum CodingKeys: String, CodingKey {
            case id, username, avatar
            case globalName = "global_name"
        }
    }

    struct TokenAnswer: Decodable {
        var accessToken: String
        enum CodingKeys: String, CodingKey { case accessToken = "access_token" }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// Trades the authorization `code` (with its PKCE `verifier`) for an access token.
    func exchange(_ code: String, verifier: String) async throws -> String {
        var request = HTTPClientRequest(url: settings.apiBase + "/oauth2/token")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        let form = [
            "client_id": settings.clientId, "client_secret": settings.clientSecret, "grant_type": "authorization_code",
            "code": code, "redirect_uri": settings.redirectURI, "code_verifier": verifier,
        ]
        request.body = .bytes(ByteBuffer(string: try URLEncodedFormEncoder().encode(form)))
        let answer = try await discord.send(request)
        guard answer.status == 200 else { throw Failure(description: "token endpoint answered \(answer.status)") }
        return try answer.decode(TokenAnswer.self).accessToken
    }

    /// The Discord user the access token belongs to.
    func user(accessToken: String) async throws -> User {
        var request = HTTPClientRequest(url: settings.apiBase + "/users/@me")
        request.headers.add(name: "Authorization", value: "Bearer \(accessToken)")
        request.headers.add(name: "Accept", value: "application/json")
        let answer = try await discord.send(request)
        guard answer.status == 200 else { throw Failure(description: "user endpoint answered \(answer.status)") }
        let user = try answer.decode(User.self)
        guard (1...20).contains(user.id.count), user.id.allSatisfy(\.isASCIIDigit) else { throw Failure(description: "not a Discord id") }
        return user
    }
}
