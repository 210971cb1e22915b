import ServiceLifecycle

/// Keeps the leaderboard's Redis index whole (see ``Leaderboard/keep(checkingEvery:)``) and
/// writes the raises queued by the bot's events (``Leaderboard/writeRaised()``).
struct LeaderboardKeeper: Service {
    let leaderboard: Leaderboard

    func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await leaderboard.keep(checkingEvery: .seconds(5)) }
                group.addTask { await leaderboard.writeRaised() }
                await group.waitForAll()
            }
        }
    }
}
