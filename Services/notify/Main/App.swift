import NotifyService
import GuildServiceKit

@main
struct App {
    static func main() async throws {
        try await runGuildService(buildApplication)
    }
}
