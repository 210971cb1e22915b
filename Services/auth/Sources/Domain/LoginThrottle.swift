import GuildCore
import GuildRedis
import Logging

/// Stops password guessing: failed logins are counted per username and per client IP in
/// Redis (so the count holds across replicas and restarts); past the limit, login answers 429
/// with `Retry-After` until the window ends. A success clears the username's count.
///
/// If Redis is down the throttle lets logins through (and says so in the log): logging in
/// keeps working, without the brute-force brake, until Redis returns.
struct LoginThrottle: Sendable {
    struct Limits: Sendable {
        /// Failures allowed per username within the window.
        var perUsername: Int
        /// Failures allowed per client IP within the window.
        var perAddress: Int
        /// The window, in seconds, counted from the first failure.
        var windowSeconds: Int
    }

    let redis: RedisClient
    let limits: Limits

    private func keys(username: String, address: String) -> (user: String, address: String) {
        ("guildhall:auth:login-failures:user:\(username.lowercased())", "guildhall:auth:login-failures:ip:\(address)")
    }

    /// Throws 429 when either count is at its limit.
    func check(username: String, address: String, logger: Logger) async throws {
        let (userKey, addressKey) = keys(username: username, address: address)
        let counts: RedisValue
        do {
            counts = try await redis.eval(Self.checkScript, keys: [userKey, addressKey], arguments: [])
        } catch {
            logger.warning("login throttle unavailable; letting the attempt through", metadata: ["error": "\(error)"])
            return
        }
        guard case .array(let values) = counts, values.count == 4 else { return }
        let userFailures = values[0].int ?? 0, userTTL = values[1].int ?? 0
        let addressFailures = values[2].int ?? 0, addressTTL = values[3].int ?? 0
        let userLocked = userFailures >= limits.perUsername
        let addressLocked = addressFailures >= limits.perAddress
        if userLocked || addressLocked {
            let wait = max(userLocked ? userTTL : 0, addressLocked ? addressTTL : 0)
            throw APIError(
                status: 429, code: "too_many_login_attempts",
                message: "too many failed logins; try again later", retryAfter: max(1, wait)
            )
        }
    }

    /// Counts a failure against both.
    func recordFailure(username: String, address: String, logger: Logger) async {
        let (userKey, addressKey) = keys(username: username, address: address)
        do {
            _ = try await redis.eval(Self.failScript, keys: [userKey, addressKey], arguments: [String(limits.windowSeconds)])
        } catch {
            logger.warning("login failure not counted", metadata: ["error": "\(error)"])
        }
    }

    /// Clears the username's count after a success.
    func recordSuccess(username: String, address: String, logger: Logger) async {
        let (userKey, _) = keys(username: username, address: address)
        _ = try? await redis.send(["DEL", userKey])
    }

    /// Both counts and their remaining seconds.
    static let checkScript = """
        return {tonumber(redis.call('GET', KEYS[1]) or '0'), redis.call('TTL', KEYS[1]),
                tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('TTL', KEYS[2])}
        """

    /// INCR both; the window starts with the first failure.
    static let failScript = """
        for _, key in ipairs(KEYS) do
            if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ARGV[1]) end
        end
        return 1
        """
}
