// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "guildhall",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "auth", targets: ["AuthServer"]),
        .executable(name: "booking", targets: ["BookingServer"]),
        .executable(name: "tickets", targets: ["TicketsServer"]),
        .executable(name: "leveling", targets: ["LevelingServer"]),
        .executable(name: "notify", targets: ["NotifyServer"]),
        .executable(name: "guildctl", targets: ["GuildCtl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // Hummingbird's own: the HTTP parts its channel handlers see (NIOHTTPTypes).
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.34.1"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // MARK: Shared modules
        .target(name: "GuildCore", path: "Shared/GuildCore"),
        .target(
            name: "GuildConcurrency",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Shared/GuildConcurrency"
        ),
        .systemLibrary(name: "CHiredis", path: "Shared/CHiredis", providers: [.apt(["libhiredis-dev"])]),
        .target(
            name: "GuildRedis",
            dependencies: [
                "CHiredis", "GuildConcurrency",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/GuildRedis"
        ),
        .target(
            name: "GuildPostgres",
            dependencies: [
                "GuildConcurrency", "GuildCore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/GuildPostgres"
        ),
        .target(
            name: "GuildMigrations",
            dependencies: [
                "GuildPostgres",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Shared/GuildMigrations"
        ),
        .target(
            name: "GuildEvents",
            dependencies: [
                "GuildConcurrency", "GuildCore", "GuildMigrations", "GuildPostgres", "GuildRedis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/GuildEvents"
        ),
        .target(
            name: "GuildAuth",
            dependencies: [
                "GuildCore",
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            path: "Shared/GuildAuth"
        ),
        // The clients of other parties: auth's private listener (users, revocations, JWKS) and the bot.
        .target(
            name: "GuildClients",
            dependencies: [
                "GuildAuth", "GuildConcurrency", "GuildCore", "GuildRedis",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/GuildClients"
        ),
        // Building a service: its application, settings, lifecycle and HTTP edge.
        .target(
            name: "GuildServiceKit",
            dependencies: [
                "GuildAuth", "GuildClients", "GuildConcurrency", "GuildCore", "GuildEvents", "GuildMigrations", "GuildPostgres", "GuildRedis",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/GuildServiceKit"
        ),
        // The live transport: Engine.IO v4 / Socket.IO v5 codec and sessions, the bounded
        // outgoing queue of a connection and the WebSocket pump that drains it.
        .target(
            name: "GuildLive",
            dependencies: [
                "GuildCore", "GuildServiceKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Shared/GuildLive"
        ),

        // MARK: Services (a library with the service's code, and a thin executable that runs it)
        .target(
            name: "AuthService",
            dependencies: [
                "GuildAuth", "GuildClients", "GuildConcurrency", "GuildCore", "GuildEvents", "GuildMigrations", "GuildPostgres", "GuildRedis", "GuildServiceKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/auth/Sources"
        ),
        .executableTarget(name: "AuthServer", dependencies: ["AuthService", "GuildServiceKit"], path: "Services/auth/Main"),
        .target(
            name: "BookingService",
            dependencies: [
                "GuildClients", "GuildCore", "GuildEvents", "GuildMigrations", "GuildPostgres", "GuildServiceKit",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/booking/Sources"
        ),
        .executableTarget(name: "BookingServer", dependencies: ["BookingService", "GuildServiceKit"], path: "Services/booking/Main"),
        .target(
            name: "TicketsService",
            dependencies: [
                "GuildClients", "GuildCore", "GuildEvents", "GuildMigrations", "GuildPostgres", "GuildServiceKit",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/tickets/Sources"
        ),
        .executableTarget(name: "TicketsServer", dependencies: ["TicketsService", "GuildServiceKit"], path: "Services/tickets/Main"),
        .target(
            name: "LevelingService",
            dependencies: [
                "GuildClients", "GuildConcurrency", "GuildCore", "GuildEvents", "GuildMigrations", "GuildPostgres", "GuildRedis", "GuildServiceKit",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/leveling/Sources"
        ),
        .executableTarget(name: "LevelingServer", dependencies: ["LevelingService", "GuildServiceKit"], path: "Services/leveling/Main"),
        .target(
            name: "NotifyService",
            dependencies: [
                "GuildAuth", "GuildClients", "GuildConcurrency", "GuildCore", "GuildEvents", "GuildLive", "GuildMigrations", "GuildPostgres", "GuildRedis", "GuildServiceKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Services/notify/Sources"
        ),
        .executableTarget(name: "NotifyServer", dependencies: ["NotifyService", "GuildServiceKit"], path: "Services/notify/Main"),

        // The list of services, for the tools and tests that work through all of them.
        .target(
            name: "GuildStack",
            dependencies: [
                "AuthService", "BookingService", "GuildServiceKit", "LevelingService", "NotifyService", "TicketsService",
            ],
            path: "Services/Stack"
        ),

        // MARK: Operator tooling
        .executableTarget(
            name: "GuildCtl",
            dependencies: [
                "AuthService", "GuildPostgres", "GuildServiceKit", "GuildStack", "LevelingService",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Tools/guildctl"
        ),

        // MARK: Tests
        .target(
            name: "GuildTestSupport",
            dependencies: [
                "GuildMigrations", "GuildServiceKit",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Tests/GuildTestSupport"
        ),
        .testTarget(
            name: "SharedTests",
            dependencies: [
                "GuildAuth", "GuildConcurrency", "GuildCore", "GuildEvents", "GuildMigrations", "GuildRedis", "GuildServiceKit", "GuildTestSupport",
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .testTarget(
            name: "LiveTests",
            dependencies: [
                "GuildCore", "GuildLive",
            ]
        ),
        .testTarget(
            name: "ServiceTests",
            dependencies: [
                "AuthService", "BookingService", "GuildAuth", "GuildClients", "GuildConcurrency", "GuildCore", "GuildLive", "GuildMigrations", "GuildPostgres", "GuildRedis", "GuildServiceKit", "GuildStack", "GuildTestSupport", "LevelingService", "NotifyService", "TicketsService",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "GuildAuth", "GuildClients", "GuildConcurrency", "GuildCore", "GuildEvents", "GuildPostgres", "GuildRedis", "GuildServiceKit", "GuildStack", "GuildTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
    ]
)
