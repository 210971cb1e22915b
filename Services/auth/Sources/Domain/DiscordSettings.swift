import Configuration
import Foundation
import GuildCore
import GuildServiceKit

/// Discord login settings. Discord login is off until `DISCORD_CLIENT_ID` is set.
struct DiscordSettings: Sendable {
    /// One allowed return URL, for one platform or for all.
    struct ReturnURL: Sendable, Equatable {
        var platform: String?
        var url: URL
    }

    var clientId: String
    var clientSecret: String
    /// Our callback, as registered with Discord (`DISCORD_REDIRECT_URI`).
    var redirectURI: String
    /// Discord's API (`DISCORD_API_BASE`, default `https://discord.com/api`): token and user endpoints.
    var apiBase: String
    /// Where the browser is sent to approve (`DISCORD_AUTHORIZE_URL`).
    var authorizeURL: String
    /// `ALLOWED_RETURN_URLS`: comma-separated, each `URL` or `platform=URL` (web, android, ios).
    var returnURLs: [ReturnURL]

    /// Nil when Discord login is not configured.
    static func read(_ reader: ConfigReader, production: Bool) throws -> DiscordSettings? {
        guard let clientId = reader.string(forKey: "discord.client.id"), !clientId.isEmpty else { return nil }
        guard let secret = reader.string(forKey: "discord.client.secret"), !secret.isEmpty else {
            throw ConfigurationError.missing("DISCORD_CLIENT_SECRET")
        }
        guard let redirect = reader.string(forKey: "discord.redirect.uri"), URL(string: redirect)?.scheme != nil else {
            throw ConfigurationError.missing("DISCORD_REDIRECT_URI")
        }
        let list = reader.string(forKey: "allowed.return.urls", default: "")
        var returnURLs: [ReturnURL] = []
        for item in list.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !item.isEmpty {
            var platform: String?
            var text = item
            if let equals = item.firstIndex(of: "="), ["web", "android", "ios"].contains(String(item[..<equals])) {
                platform = String(item[..<equals])
                text = String(item[item.index(after: equals)...])
            }
            guard let url = URL(string: text), url.scheme != nil else {
                throw ConfigurationError.invalid("ALLOWED_RETURN_URLS", "'\(item)' is not a URL")
            }
            returnURLs.append(ReturnURL(platform: platform, url: url))
        }
        guard !returnURLs.isEmpty else { throw ConfigurationError.missing("ALLOWED_RETURN_URLS") }
        return DiscordSettings(
            clientId: clientId, clientSecret: secret, redirectURI: redirect,
            apiBase: reader.string(forKey: "discord.api.base", default: "https://discord.com/api"),
            authorizeURL: reader.string(forKey: "discord.authorize.url", default: "https://discord.com/oauth2/authorize"),
            returnURLs: returnURLs
        )
    }

    /// The allowlisted URL `requested` resolves to for `platform`: the same scheme, host and
    /// port as an entry, and a path at or below the entry's path. Nil when it matches none.
    func returnURL(_ requested: String?, platform: String) -> URL? {
        let candidates = returnURLs.filter { $0.platform == nil || $0.platform == platform }
        guard let requested else { return candidates.first?.url }
        // Matched without its fragment: a single-page app's hash route (`/#/login`) is kept as it is.
        guard let url = URL(string: requested), url.user == nil, url.password == nil else { return nil }
        for entry in candidates {
            let allowed = entry.url
            guard url.scheme?.lowercased() == allowed.scheme?.lowercased(), url.host?.lowercased() == allowed.host?.lowercased(),
                url.port == allowed.port
            else { continue }
            let base = allowed.path.hasSuffix("/") || allowed.path.isEmpty ? allowed.path : allowed.path + "/"
            if url.path == allowed.path || url.path.hasPrefix(base) || base == "/" || base.isEmpty { return url }
        }
        return nil
    }
}
