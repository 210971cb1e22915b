import Foundation

/// Where Redis is and how long to wait for it.
public struct RedisConfiguration: Sendable, Equatable {
    /// Host name or address.
    public var host: String
    /// TCP port.
    public var port: Int
    /// Password for `AUTH`, if any.
    public var password: String?
    /// Database index for `SELECT`.
    public var database: Int
    /// How long a connection attempt may take.
    public var connectTimeout: Duration
    /// How long one command may take before the connection is dropped.
    public var commandTimeout: Duration

    /// Creates a configuration.
    public init(
        host: String = "127.0.0.1",
        port: Int = 6379,
        password: String? = nil,
        database: Int = 0,
        connectTimeout: Duration = .seconds(1),
        commandTimeout: Duration = .seconds(2)
    ) {
        self.host = host
        self.port = port
        self.password = password
        self.database = database
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
    }

    /// Parses `redis://[:password@]host[:port][/db]`.
    public init(url: String) throws {
        guard let components = URLComponents(string: url), components.scheme == "redis", let host = components.host, !host.isEmpty
        else { throw RedisError.invalidURL(url) }
        var database = 0
        let path = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        if !path.isEmpty {
            guard let index = Int(path), index >= 0 else { throw RedisError.invalidURL(url) }
            database = index
        }
        let password = components.password.flatMap { $0.isEmpty ? nil : $0.removingPercentEncoding }
        self.init(host: host, port: components.port ?? 6379, password: password, database: database)
    }
}

/// What can go wrong talking to Redis.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The URL is not a `redis://` URL.
    case invalidURL(String)
    /// Connecting or talking failed; the connection was dropped.
    case connection(String)
    /// Redis answered with an error reply.
    case server(String)
    /// The reply was not of the expected type.
    case unexpectedReply(String)
    /// The client is shutting down.
    case shutDown

    /// A line for logs.
    public var description: String {
        switch self {
        case .invalidURL(let url): "invalid Redis URL: \(url)"
        case .connection(let message): "Redis connection error: \(message)"
        case .server(let message): "Redis error: \(message)"
        case .unexpectedReply(let message): "unexpected Redis reply: \(message)"
        case .shutDown: "Redis client is shut down"
        }
    }
}
