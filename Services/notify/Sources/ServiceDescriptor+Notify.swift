import GuildServiceKit

extension ServiceDescriptor {
    /// The notify service: the inbox, live connections and push.
    public static let notify = ServiceDescriptor(
        name: "notify",
        defaultPort: 8085,
        routePrefixes: ["/api/notifications", "/ws", "/socket.io"],
        migrations: [
            NotifyMigrations.initial, NotifyMigrations.push, NotifyMigrations.broadcasts, NotifyMigrations.botMessages,
            NotifyMigrations.botMessagesInOrder, NotifyMigrations.stats, NotifyMigrations.inboxPage,
        ]
    )
}
