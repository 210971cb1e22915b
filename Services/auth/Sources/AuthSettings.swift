import Configuration
import Foundation
import GuildAuth
import GuildCore
import GuildServiceKit

/// The auth service's own settings, on top of the common ones.
struct AuthSettings: Sendable {
    /// The key that signs access tokens.
    var signingKey: SigningKey
    /// Lifetime of access tokens (`ACCESS_TOKEN_TTL`, seconds).
    var accessTokenLifetime: Duration
    /// Lifetime of refresh tokens and sessions (`REFRESH_TOKEN_TTL`, seconds).
    var refreshTokenLifetime: Duration
    /// How long a just-spent refresh token still answers with the pair it was exchanged for
    /// (`REFRESH_TOKEN_GRACE`, seconds): two concurrent refreshes must not log the user out.
    var refreshGrace: Duration
    /// Failed-login limits (`LOGIN_MAX_FAILURES_PER_USER`, `LOGIN_MAX_FAILURES_PER_IP`,
    /// `LOGIN_MAX_FAILURES_PER_DEVICE`, `LOGIN_FAILURE_WINDOW` seconds).
    var loginLimits: LoginThrottle.Limits
    /// How long a login device token is honoured (`LOGIN_DEVICE_TOKEN_TTL`, seconds; default 365 days).
    var deviceTokenLifetime: Int
    /// Discord login; nil until `DISCORD_CLIENT_ID` is set.
    var discord: DiscordSettings?
    /// The port of nginx's verify-token listener (`VERIFY_PORT`, default 8281), on `HOST`.
    var verifyPort: Int
    /// The verify-token listener's own event loops (`VERIFY_THREADS`, default 1).
    var verifyThreads: Int
    /// bcrypt cost (`BCRYPT_COST`).
    var bcryptCost: UInt8
    /// The first admin, created at first start when both are set.
    var adminUsername: String?
    var adminPassword: String?

    init(reader: ConfigReader, common: ServiceSettings) throws {
        self.signingKey = try Self.loadSigningKey(reader: reader, production: common.isProduction)
        self.accessTokenLifetime = .seconds(reader.int(forKey: "access.token.ttl", default: 900))
        self.refreshTokenLifetime = .seconds(reader.int(forKey: "refresh.token.ttl", default: 30 * 24 * 3600))
        self.refreshGrace = .seconds(try reader.int(forKey: "refresh.token.grace", default: 10, in: 0...120))
        self.loginLimits = LoginThrottle.Limits(
            perUsername: max(1, reader.int(forKey: "login.max.failures.per.user", default: 5)),
            perAddress: max(1, reader.int(forKey: "login.max.failures.per.ip", default: 30)),
            perDevice: max(1, reader.int(forKey: "login.max.failures.per.device", default: 5)),
            windowSeconds: max(1, reader.int(forKey: "login.failure.window", default: 900))
        )
        self.deviceTokenLifetime = try reader.int(forKey: "login.device.token.ttl", default: 365 * 24 * 3600, in: 3600...(2 * 365 * 24 * 3600))
        self.discord = try DiscordSettings.read(reader, production: common.isProduction)
        self.verifyPort = try reader.int(forKey: "verify.port", default: 8281, in: 0...65535)
        self.verifyThreads = try reader.int(forKey: "verify.threads", default: 1, in: 1...64)
        self.bcryptCost = UInt8(try reader.int(forKey: "bcrypt.cost", default: 11, in: 4...16))
        self.adminUsername = reader.string(forKey: "admin.username").flatMap { $0.isEmpty ? nil : $0 }
        self.adminPassword = reader.string(forKey: "admin.password").flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `JWT_PRIVATE_KEY` (PEM) or `JWT_PRIVATE_KEY_FILE`; in development a key is generated once
    /// and kept in `DATA_DIR` (git-ignored), so tokens survive restarts.
    static func loadSigningKey(reader: ConfigReader, production: Bool) throws -> SigningKey {
        if let pem = reader.string(forKey: "jwt.private.key"), !pem.isEmpty {
            return try SigningKey(pem: pem.replacingOccurrences(of: "\\n", with: "\n"))
        }
        if let path = reader.string(forKey: "jwt.private.key.file"), !path.isEmpty {
            return try SigningKey(pem: String(contentsOfFile: path, encoding: .utf8))
        }
        if production { throw ConfigurationError.missing("JWT_PRIVATE_KEY") }
        let directory = reader.string(forKey: "data.dir", default: "var/dev")
        let path = directory + "/auth-signing-key.pem"
        if let pem = try? String(contentsOfFile: path, encoding: .utf8) { return try SigningKey(pem: pem) }
        let key = try SigningKey.generate()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: path, contents: Data(key.privateKey.pemRepresentation.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw ConfigurationError.invalid("DATA_DIR", "cannot write \(path)")
        }
        return key
    }
}
