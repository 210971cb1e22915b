import ArgumentParser
import AuthService
import Foundation
import GuildPostgres
import GuildServiceKit
import GuildStack
import LevelingService
import Logging
import PostgresNIO

/// The operator's command line.
@main
struct GuildCtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "guildctl",
        abstract: "Operate a Guildhall installation.",
        subcommands: [Migrate.self, CreateAdmin.self, Tools.self]
    )
}

/// Options every command takes.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: "PostgreSQL URL (default: $DATABASE_URL).")
    var databaseURL: String?

    func url() throws -> String {
        if let databaseURL { return databaseURL }
        if let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty { return url }
        throw ValidationError("give --database-url or set DATABASE_URL")
    }

    /// Runs `body` with a client pinned to `schema`, then shuts it down.
    func withClient<T: Sendable>(schema: String, _ body: @escaping @Sendable (PostgresClient, Logger) async throws -> T) async throws -> T {
        let logger = Logger(label: "guildctl")
        let client = PostgresClient(configuration: try .init(url: try url(), schema: schema), backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(client, logger)
        }
    }
}

extension GuildCtl {
    /// `guildctl migrate [--service NAME]`.
    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply pending migrations (each service also does this at start).")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "One service (\(GuildStack.services.map(\.name).joined(separator: ", "))); all when omitted.")
        var service: String?

        func run() async throws {
            var services = GuildStack.services
            if let service {
                guard let found = GuildStack.service(named: service) else { throw ValidationError("unknown service \(service)") }
                services = [found]
            }
            for service in services {
                let applied = try await database.withClient(schema: service.schema) { client, logger in
                    try await service.migrations.run(on: client, logger: logger)
                }
                print("\(service.name): \(applied.isEmpty ? "up to date" : "applied \(applied.map(String.init).joined(separator: ", "))")")
            }
        }
    }

    /// `guildctl create-admin --username U --password P`.
    struct CreateAdmin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an admin account (nothing happens if the name exists).")

        @OptionGroup var database: DatabaseOptions
        @Option(help: "The admin's username.") var username: String
        @Option(help: "The admin's password (8 to 72 bytes); default: $ADMIN_PASSWORD.") var password: String?

        func run() async throws {
            guard let password = password ?? ProcessInfo.processInfo.environment["ADMIN_PASSWORD"] else {
                throw ValidationError("give --password or set ADMIN_PASSWORD")
            }
            let username = self.username
            let created = try await database.withClient(schema: ServiceDescriptor.auth.schema) { client, logger in
                try await ServiceDescriptor.auth.migrations.run(on: client, logger: logger)
                return try await AdminBootstrap.make(database: Database(source: client)).ensureAdmin(username: username, password: password, logger: logger)
            }
            print(created ? "admin \(username) created" : "\(username) exists already; nothing changed")
        }
    }
}
