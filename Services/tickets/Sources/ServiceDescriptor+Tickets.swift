import GuildServiceKit

extension ServiceDescriptor {
    /// The tickets service: support tickets and their messages.
    public static let tickets = ServiceDescriptor(
        name: "tickets",
        defaultPort: 8083,
        routePrefixes: ["/api/tickets"],
        migrations: [TicketsMigrations.initial, TicketsMigrations.stats, TicketsMigrations.openByCategory]
    )
}
