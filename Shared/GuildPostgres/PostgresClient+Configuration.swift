import Foundation
import GuildCore
import PostgresNIO

extension PostgresClient.Configuration {
    /// Parses `postgres://user[:password]@host[:port]/database` and pins the connection's
    /// `search_path` to the service's own schema, so its SQL names its tables unqualified.
    public init(url: String, schema: String) throws {
        let address = try PostgresAddress(url: url)
        self.init(
            host: address.host, port: address.port, username: address.user, password: address.password, database: address.database,
            tls: address.requireTLS ? .require(.makeClientConfiguration()) : .disable
        )
        options.additionalStartupParameters = address.startupParameters(schema: schema)
        options.connectTimeout = .seconds(3)
        options.maximumConnections = 16
    }
}

extension PostgresConnection.Configuration {
    /// One connection to the database of `url`, configured like the pool's.
    public init(url: String, schema: String) throws {
        let address = try PostgresAddress(url: url)
        self.init(
            host: address.host, port: address.port, username: address.user, password: address.password, database: address.database,
            tls: address.requireTLS ? .require(try NIOSSLContext(configuration: .makeClientConfiguration())) : .disable
        )
        options.additionalStartupParameters = address.startupParameters(schema: schema)
        options.connectTimeout = .seconds(1)
    }
}

/// The parts of a `DATABASE_URL`.
struct PostgresAddress {
    var host: String
    var port: Int
    var user: String
    var password: String?
    var database: String
    var requireTLS: Bool

    init(url: String) throws {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? ""),
            let host = components.host, !host.isEmpty, let user = components.user, !user.isEmpty
        else { throw ConfigurationError.invalid("DATABASE_URL", "expected postgres://user[:password]@host[:port]/database") }
        let database = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        self.host = host
        self.port = components.port ?? 5432
        self.user = user.removingPercentEncoding ?? user
        self.password = components.password?.removingPercentEncoding
        self.database = database.isEmpty ? self.user : database
        self.requireTLS = components.queryItems?.first(where: { $0.name == "sslmode" })?.value == "require"
    }

    func startupParameters(schema: String) -> [(String, String)] {
        [("search_path", schema), ("application_name", "guildhall-\(schema)")]
    }
}
