import GuildEvents
import GuildMigrations

/// What makes a service a service, declared once; the kit derives the rest from it.
///
/// The name is also the executable (`booking`), the PostgreSQL schema, the nginx upstream
/// (`guildhall_booking`) and the health route (`/api/booking/health`). `guildctl`, the scripts,
/// the nginx template and `compose/` are checked against the list of descriptors by the tests.
public struct ServiceDescriptor: Sendable {
    /// `auth`, `booking`, `tickets`, `leveling`, `notify`.
    public let name: String
    /// The development port of the public listener; the private one is 100 above it.
    public let defaultPort: Int
    /// The path prefixes nginx sends to this service.
    public let routePrefixes: [String]
    /// The service's own migrations, versions from 1 up.
    public let ownMigrations: [Migration]

    /// Declares a service.
    public init(name: String, defaultPort: Int, routePrefixes: [String], migrations: [Migration]) {
        precondition(migrations.allSatisfy { $0.version >= 1 }, "versions below 1 belong to the kit's shared tables")
        self.name = name
        self.defaultPort = defaultPort
        self.routePrefixes = routePrefixes
        self.ownMigrations = migrations
    }

    /// The schema the service owns.
    public var schema: String { name }

    /// The development port of the private listener (`/internal/*`, `/metrics`).
    public var defaultInternalPort: Int { defaultPort + 100 }

    /// `GET /api/<name>/health`, public.
    public var healthPath: String { "/api/\(name)/health" }

    /// The tables every service gets from the kit, before its own migrations.
    public static let sharedMigrations: [Migration] = EventTables.all + [IdempotencyTables.migration, DailyCountTables.migration]

    /// Everything applied to the schema: the shared tables first, then the service's own.
    public var migrations: MigrationRunner {
        MigrationRunner(schema: schema, migrations: Self.sharedMigrations + ownMigrations)
    }
}
