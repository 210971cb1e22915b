import Configuration
import GuildServiceKit
import Hummingbird

/// Builds the booking service from configuration (the executable and the tests both call this).
public func buildApplication(reader: ConfigReader) async throws -> some ApplicationProtocol {
    let dependencies = try ServiceDependencies(.booking, reader: reader)
    let settings = try BookingSettings(reader: reader)
    let catalogue = CatalogueRepository(database: dependencies.database)
    let vms = VMRepository(database: dependencies.database)
    let bookings = BookingRepository(database: dependencies.database, refunds: settings.refunds)
    let wallets = WalletRepository(database: dependencies.database)
    let catalogueController = CatalogueController(catalogue: catalogue, pricing: settings.pricing, basePricePerHour: settings.basePricePerHour)
    let vmController = VMController(vms: vms, catalogue: catalogue)

    return buildGuildApplication(
        dependencies,
        routes: { routes in
            routes.open("/api/booking", cached: catalogueController.publicEndpoints, vmController.publicEndpoints)
            let walletController = WalletController(wallets: wallets, users: dependencies.users)
            routes.signedIn("/api/booking", walletController.endpoints, BookingController(bookings: bookings).endpoints)
            routes.signedIn("/api/booking", catalogueController.adminEndpoints, vmController.adminEndpoints, walletController.adminEndpoints)
        },
        jobs: [LifecycleScheduler(bookings: bookings, interval: settings.lifecycleInterval, logger: dependencies.logger)]
    )
}
