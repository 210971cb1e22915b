import Foundation
import PostgresNIO

extension PostgresClient.Configuration {
    /// Parses `postgres://user[:password]@host[:port]/database` and pins the connection's
    /// `search_path` to the service's own schema, so its SQL names its tables unqualified.
    public init(url: String, schema: String) throws {
        guard let components = URLComponents(string: url), ["postgres", "postgresql"].contains(components.scheme ?? ""),
            let host = components.host, !host.isEmpty, let user = components.user, !user.isEmpty
        else { throw ConfigurationError.invalid("DATABASE_URL", "expected postgres://user[:password]@host[:port]/database") }
        let database = components.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        let tls: PostgresClient.Configuration.TLS =
            components.queryItems?.first(where: { $0.name == "sslmode" })?.value == "require" ? .require(.makeClientConfiguration()) : .disable
        self.init(
            host: host,
            port: components.port ?? 5432,
            username: user.removingPercentEncoding ?? user,
            password: components.password?.removingPercentEncoding,
            database: database.isEmpty ? user : database,
            tls: tls
        )
        options.additionalStartupParameters = [("search_path", schema), ("application_name", "guildhall-\(schema)")]
        options.connectTimeout = .seconds(3)
        options.maximumConnections = 16
    }
}
