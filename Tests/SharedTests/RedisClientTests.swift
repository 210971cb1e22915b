import GuildRedis
import GuildTestSupport
import Synchronization
import Testing

@Suite("The hiredis client talks to a real Redis and survives it going away")
struct RedisClientTests {
    @Test func commandsRoundTrip() async throws {
        let redis = RedisClient(configuration: try RedisConfiguration(url: try TestEnvironment.redisURL()), logger: testLogger)
        let key = "test:\(UInt64.random(in: 0...UInt64.max))"
        try await redis.ping()
        #expect(try await redis.send(["SET", key, "héllo wörld", "EX", "30"]).string == "OK")
        #expect(try await redis.send(["GET", key]).string == "héllo wörld")
        #expect(try await redis.send(["INCR", key + ":n"]).int == 1)
        #expect(try await redis.send(["GET", key + ":missing"]) == .null)
        await #expect(throws: RedisError.self) { try await redis.send(["NOSUCHCOMMAND"]) }
        #expect(try await redis.send(["GET", key]).string == "héllo wörld", "a connection survives an error reply")
        try await redis.shutdown()
    }

    @Test func aSubscriberReceivesWhatIsPublishedAndReconnectsAfterAnOutage() async throws {
        try await RedisServerProcess.withServer { server in
            let configuration = try RedisConfiguration(url: server.url)
            let redis = RedisClient(configuration: configuration, logger: testLogger)
            let received = Mutex<[String]>([])
            let subscriptions = Atomic(0)
            let subscriber = RedisSubscriber(
                configuration: configuration, channels: ["news", "other"], logger: testLogger,
                onSubscribed: { subscriptions.add(1, ordering: .relaxed) }
            ) { message in
                received.withLock { $0.append("\(message.channel):\(message.payload)") }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await subscriber.run() }
                #expect(await eventually { subscriptions.load(ordering: .relaxed) == 1 })
                try await redis.publish("one", to: "news")
                #expect(await eventually { received.withLock { $0 } == ["news:one"] })

                await server.stop()
                await #expect(throws: RedisError.self) { try await redis.ping() }
                try await server.start()
                #expect(await eventually(timeout: .seconds(60)) { subscriptions.load(ordering: .relaxed) == 2 })
                try await redis.publish("two", to: "other")
                #expect(await eventually { received.withLock { $0 } == ["news:one", "other:two"] })
                group.cancelAll()
            }
            try await redis.shutdown()
        }
    }
}
