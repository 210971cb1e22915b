import GuildServiceKit

extension ServiceDescriptor {
    /// The booking service: the catalogue, VMs, the hours wallet and bookings.
    public static let booking = ServiceDescriptor(
        name: "booking",
        defaultPort: 8082,
        routePrefixes: ["/api/booking"],
        migrations: [
            BookingMigrations.catalogue, BookingMigrations.ledgerAndBookings, BookingMigrations.settings, BookingMigrations.stats,
            BookingMigrations.oneCall,
        ]
    )
}
