import Configuration
import GuildCore
import GuildServiceKit
import Hummingbird

/// Builds the booking service from configuration (the executable and the tests both call this).
public func buildApplication(reader: ConfigReader) async throws -> some ApplicationProtocol {
    let dependencies = try ServiceDependencies(.booking, reader: reader)
    let settings = try BookingSettings(reader: reader)
    let catalogue = CatalogueRepository(database: dependencies.database)
    let vms = VMRepository(database: dependencies.database)
    let config = RuntimeSettings(database: dependencies.database, defaults: settings.defaults, changeEvent: EventType.bookingConfigChanged)
    let bookings = BookingRepository(database: dependencies.database, config: config)
    let wallets = WalletRepository(database: dependencies.database)
    let catalogueController = CatalogueController(catalogue: catalogue, config: config)
    let vmController = VMController(vms: vms, catalogue: catalogue, config: config)

    return buildGuildApplication(
        dependencies,
        routes: { routes in
            routes.open("/api/booking", cached: catalogueController.publicEndpoints, vmController.publicEndpoints)
            let walletController = WalletController(wallets: wallets, users: dependencies.users)
            routes.signedIn("/api/booking", walletController.endpoints, BookingController(bookings: bookings).endpoints)
            routes.signedIn("/api/booking", catalogueController.adminEndpoints, vmController.adminEndpoints, walletController.adminEndpoints)
            routes.signedIn("/api/booking", config.readEndpoints("config", context: AdminContext.self), config.changeEndpoint("config") { try $0.checked() })
            routes.signedIn("/api/booking", StatsController(database: dependencies.database).staffEndpoints)
        },
        jobs: [
            LifecycleScheduler(bookings: bookings, interval: settings.lifecycleInterval, logger: dependencies.logger),
            SettingsWatcher(config, redis: dependencies.redisConfiguration, logger: dependencies.logger),
        ]
    )
}
