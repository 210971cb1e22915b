import Configuration
import Foundation
import GuildCore
import GuildServiceKit
import JWTKit

/// Push notifications' settings, read once at start. Without `FCM_SERVICE_ACCOUNT_FILE` push is
/// off: nothing is queued, nothing fails, and health says `"push": "off"`.
struct PushSettings: Sendable {
    /// Where and as whom to reach FCM; nil when push is off.
    var fcm: FCMConfiguration?
    /// How often the sender looks for due jobs (`PUSH_JOBS_INTERVAL_MS`, default 1000).
    var jobsInterval: Duration
    /// The longest wait before a job is tried again (`PUSH_RETRY_MAX_MS`, default 300000).
    var retryCap: Duration

    init(reader: ConfigReader) throws {
        jobsInterval = .milliseconds(try reader.int(forKey: "push.jobs.interval.ms", default: 1000, in: 50...60_000))
        retryCap = .milliseconds(try reader.int(forKey: "push.retry.max.ms", default: 300_000, in: 100...3_600_000))
        let file = reader.string(forKey: "fcm.service.account.file", default: "")
        guard !file.isEmpty else {
            fcm = nil
            return
        }
        let account = try ServiceAccount(file: file)
        let apiBase = try Self.url(reader.string(forKey: "fcm.api.base", default: "https://fcm.googleapis.com"), "FCM_API_BASE")
        let tokenOverride = reader.string(forKey: "fcm.token.url", default: "")
        let tokenURL = tokenOverride.isEmpty
            ? try Self.url(account.tokenURI, "FCM_SERVICE_ACCOUNT_FILE", what: "its token_uri")
            : try Self.url(tokenOverride, "FCM_TOKEN_URL")
        fcm = FCMConfiguration(account: account, apiBase: apiBase, tokenURL: tokenURL)
    }

    /// `text` when it is an http(s) URL with a host, without a trailing slash; otherwise start-up stops naming `name`.
    static func url(_ text: String, _ name: String, what: String = "the value") throws -> String {
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme?.lowercased() ?? ""), url.host?.isEmpty == false else {
            throw ConfigurationError.invalid(name, "\(what) must be an http(s) URL, not \"\(text.prefix(100))\"")
        }
        return text.hasSuffix("/") ? String(text.dropLast()) : text
    }
}

/// Where FCM is and who the service is to it.
struct FCMConfiguration: Sendable {
    /// The Google service account that signs the OAuth2 assertion.
    var account: ServiceAccount
    /// FCM's API, `https://fcm.googleapis.com` (`FCM_API_BASE`).
    var apiBase: String
    /// Where access tokens come from: `FCM_TOKEN_URL`, else the account's `token_uri`.
    var tokenURL: String

    /// `POST` here sends one message.
    var sendURL: String { "\(apiBase)/v1/projects/\(account.projectId)/messages:send" }
}

/// A Google service-account key file: the fields push needs.
struct ServiceAccount: Sendable {
    /// The Firebase project messages are sent through.
    var projectId: String
    /// The account's address: the assertion's issuer.
    var clientEmail: String
    /// The RSA key that signs the assertion.
    var privateKey: Insecure.RSA.PrivateKey
    /// The key's id, written as the assertion's `kid` when the file names it.
    var privateKeyId: String?
    /// Google's token endpoint as the file gives it.
    var tokenURI: String

    /// The file as Google writes it (`snake_case` keys).
    private struct File: Decodable {
        var projectId: String?
        var clientEmail: String?
        var privateKey: String?
        var privateKeyId: String?
        var tokenUri: String?
    }

    /// Reads and checks the file at `path`; anything wrong stops start-up naming `FCM_SERVICE_ACCOUNT_FILE`.
    init(file path: String) throws {
        func invalid(_ reason: String) -> ConfigurationError { .invalid("FCM_SERVICE_ACCOUNT_FILE", reason) }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw invalid("\(path) cannot be read")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        guard let file = try? decoder.decode(File.self, from: data) else { throw invalid("\(path) is not a JSON object of a service account") }
        func field(_ value: String?, _ name: String) throws -> String {
            guard let value, !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { throw invalid("\(path) has no \(name)") }
            return value
        }
        projectId = try field(file.projectId, "project_id")
        // It becomes part of the send URL's path.
        guard projectId.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-.:".contains($0)) }) else {
            throw invalid("the project_id in \(path) is not a project id")
        }
        clientEmail = try field(file.clientEmail, "client_email")
        tokenURI = try field(file.tokenUri, "token_uri")
        do {
            privateKey = try Insecure.RSA.PrivateKey(pem: try field(file.privateKey, "private_key"))
        } catch let error as ConfigurationError {
            throw error
        } catch {
            throw invalid("the private_key in \(path) is not a PEM RSA private key of at least 2048 bits")
        }
        privateKeyId = file.privateKeyId.flatMap { $0.isEmpty ? nil : $0 }
    }
}
