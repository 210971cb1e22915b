import Configuration
import GuildAuth
import GuildCore
import Logging

/// What every service reads from its environment at start, once.
///
/// Keys are read through a `ConfigReader`, so `database.url` is the environment variable
/// `DATABASE_URL`. Every value has a development default; with `GUILDHALL_ENV=production` the
/// secrets and endpoints must be given, and a missing one stops start-up naming it.
public struct ServiceSettings: Sendable {
    /// The service these settings are for.
    public let service: ServiceDescriptor
    /// The service name: `auth`, `booking`, `tickets`, `leveling`, `notify`. Also its schema.
    public var name: String { service.name }
    /// The version reported by health.
    public var version: String
    /// Address to bind both listeners to.
    public var host: String
    /// The public HTTP port (behind nginx).
    public var port: Int
    /// The private port for `/internal/*`, and `/metrics` unless ``metricsPort`` is set.
    public var internalPort: Int
    /// `METRICS_PORT`: a listener of its own for `/metrics` and nothing else, so a network policy
    /// can let Prometheus reach the metrics without reaching `/internal/*`. Unset: `/metrics` is
    /// on the private listener.
    public var metricsPort: Int?
    /// `postgres://user[:password]@host:port/database`.
    public var databaseURL: String
    /// `redis://host:port[/db]`.
    public var redisURL: String
    /// The shared secret that `/internal/*` callers present as a bearer token.
    public var internalSecret: String
    /// Where the public keys that sign access tokens are published (unused by auth itself).
    public var jwksURL: String
    /// auth's private listener, where services ask about accounts (`AUTH_INTERNAL_URL`; several, separated by commas).
    public var authInternalURL: String
    /// Issuer and audience of access tokens.
    public var tokenPolicy: TokenPolicy
    /// Minimum log level.
    public var logLevel: Logger.Level
    /// `text` or `json` log lines.
    public var logFormat: String
    /// True when `GUILDHALL_ENV=production`: no development defaults for secrets.
    public var isProduction: Bool
    /// `SHUTDOWN_GRACE_SECONDS`: how long a stop may take to finish what is in flight.
    public var shutdownGrace: Duration
    /// The public listener's queue of connections not yet accepted (the kernel caps it at
    /// net.core.somaxconn).
    public static let listenBacklog = 4096

    /// Reads the settings of `service`; its development ports are the descriptor's.
    public init(_ service: ServiceDescriptor, reader: ConfigReader) throws {
        self.service = service
        self.version = reader.string(forKey: "guildhall.version", default: GuildVersion.current)
        self.isProduction = reader.string(forKey: "guildhall.env", default: "development") == "production"
        self.host = reader.string(forKey: "host", default: "127.0.0.1")
        self.port = reader.int(forKey: "port", default: service.defaultPort)
        self.internalPort = reader.int(forKey: "internal.port", default: service.defaultInternalPort)
        self.metricsPort = reader.int(forKey: "metrics.port")
        self.logLevel = Logger.Level(rawValue: reader.string(forKey: "log.level", default: "info").lowercased()) ?? .info
        self.logFormat = reader.string(forKey: "log.format", default: "text")
        self.shutdownGrace = try ShutdownLimits.grace(reader: reader)
        self.tokenPolicy = TokenPolicy(
            issuer: reader.string(forKey: "jwt.issuer", default: "guildhall-auth"),
            audience: reader.string(forKey: "jwt.audience", default: "guildhall")
        )
        let production = isProduction
        func required(_ key: ConfigKey, environment: String, development: String) throws -> String {
            try Self.required(key, environment: environment, development: development, production: production, reader: reader)
        }
        self.databaseURL = try required("database.url", environment: "DATABASE_URL", development: "postgres://guildhall@127.0.0.1:5432/guildhall")
        self.redisURL = try required("redis.url", environment: "REDIS_URL", development: "redis://127.0.0.1:6379")
        self.internalSecret = try required("internal.api.secret", environment: "INTERNAL_API_SECRET", development: "dev-internal-secret")
        self.jwksURL = try required("jwks.url", environment: "JWKS_URL", development: "http://127.0.0.1:8081/api/auth/jwks")
        self.authInternalURL = try required("auth.internal.url", environment: "AUTH_INTERNAL_URL", development: "http://127.0.0.1:8181")
        guard (0...65535).contains(port), (0...65535).contains(internalPort) else {
            throw ConfigurationError.invalid("PORT/INTERNAL_PORT", "must be between 0 (any free port) and 65535")
        }
        if let metricsPort {
            guard (1...65535).contains(metricsPort) else {
                throw ConfigurationError.invalid("METRICS_PORT", "must be between 1 and 65535")
            }
            guard metricsPort != port, metricsPort != internalPort else {
                throw ConfigurationError.invalid("METRICS_PORT", "must differ from PORT and INTERNAL_PORT")
            }
        }
    }
}

/// The release of the services.
public enum GuildVersion {
    /// The version string reported by health endpoints.
    public static let current = "0.1.0"
}

extension ServiceSettings {
    /// A secret or an endpoint: its value, or in development `development`; with
    /// `GUILDHALL_ENV=production` a missing one stops start-up naming `environment`.
    public func required(_ key: ConfigKey, environment: String, development: String, reader: ConfigReader) throws -> String {
        try Self.required(key, environment: environment, development: development, production: isProduction, reader: reader)
    }

    static func required(_ key: ConfigKey, environment: String, development: String, production: Bool, reader: ConfigReader) throws -> String {
        if let value = reader.string(forKey: key), !value.isEmpty { return value }
        if production { throw ConfigurationError.missing(environment) }
        return development
    }
}
