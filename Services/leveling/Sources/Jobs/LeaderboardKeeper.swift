import ServiceLifecycle

/// Keeps the leaderboard's Redis index whole (see ``Leaderboard/keep(checkingEvery:)``).
struct LeaderboardKeeper: Service {
    let leaderboard: Leaderboard

    func run() async throws {
        await cancelWhenGracefulShutdown { await leaderboard.keep(checkingEvery: .seconds(5)) }
    }
}
