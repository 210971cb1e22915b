import Configuration
import GuildServiceKit
import Hummingbird

/// Builds the booking service from configuration (the executable and the tests both call this).
public func buildApplication(reader: ConfigReader) async throws -> some ApplicationProtocol {
    let dependencies = try ServiceDependencies(settings: ServiceSettings(service: "booking", defaultPort: 8082, reader: reader))
    let settings = try BookingSettings(reader: reader)
    let catalogue = CatalogueRepository(database: dependencies.database)
    let vms = VMRepository(database: dependencies.database)
    let bookings = BookingRepository(database: dependencies.database, refunds: settings.refunds)
    let wallets = WalletRepository(database: dependencies.database)

    return buildGuildApplication(
        dependencies,
        migrations: BookingMigrations.runner,
        routes: { router in
            let catalogueController = CatalogueController(catalogue: catalogue, pricing: settings.pricing)
            let vmController = VMController(vms: vms, catalogue: catalogue)
            let open = router.group("/api/booking")
            open.addRoutes(catalogueController.publicEndpoints)
            open.addRoutes(vmController.publicEndpoints)
            let signedIn = router.group("/api/booking", context: AuthenticatedContext.self)
            signedIn.addRoutes(catalogueController.adminEndpoints)
            signedIn.addRoutes(vmController.adminEndpoints)
            signedIn.addRoutes(WalletController(wallets: wallets).endpoints)
            signedIn.addRoutes(BookingController(bookings: bookings).endpoints)
        },
        services: [LifecycleScheduler(bookings: bookings, interval: settings.lifecycleInterval, logger: dependencies.logger)]
    )
}
