import GuildCore
import GuildRedis
import Logging

/// Stops password guessing without locking out the owners of the accounts guessed at.
///
/// Failed logins are counted in Redis (so the counts hold across replicas and restarts); past a
/// limit, login answers 429 with `Retry-After` until the window, counted from the first failure,
/// ends. Whose failures count depends on who is trying (OWASP's device cookies):
/// - an **untrusted client** (no valid device token for the account it names) is counted per
///   client IP and per username: spraying from one address locks that address, guessing one
///   account locks it for untrusted clients; a success clears the username's count;
/// - a **trusted device** (a valid ``DeviceTokens`` token issued to that account) is counted
///   against its token only: neither a locked address nor a locked username stops it, and its
///   own failures lock that token alone.
///
/// If Redis is down the throttle lets logins through (and says so in the log): logging in
/// keeps working, without the brute-force brake, until Redis returns.
struct LoginThrottle: Sendable {
    struct Limits: Sendable {
        /// Failures allowed per username within the window (untrusted clients).
        var perUsername: Int
        /// Failures allowed per client IP within the window (untrusted clients).
        var perAddress: Int
        /// Failures allowed per device token within the window (`LOGIN_MAX_FAILURES_PER_DEVICE`).
        var perDevice: Int
        /// The window, in seconds, counted from the first failure.
        var windowSeconds: Int
    }

    /// Who is trying to log in, which decides what their failures count against.
    enum Client: Sendable, Equatable {
        /// No valid device token for the account: braked per address and per username.
        case untrusted(username: String, address: String)
        /// A device token issued to the account, identified by its nonce.
        case trustedDevice(nonce: String)
    }

    let redis: RedisClient
    let limits: Limits

    /// The counters `client` is braked by, with their limits.
    private func counters(_ client: Client) -> [(key: String, limit: Int)] {
        switch client {
        case .untrusted(let username, let address):
            return [
                ("guildhall:auth:login-failures:user:\(username.lowercased())", limits.perUsername),
                ("guildhall:auth:login-failures:ip:\(address)", limits.perAddress),
            ]
        case .trustedDevice(let nonce):
            return [("guildhall:auth:login-failures:device:\(nonce)", limits.perDevice)]
        }
    }

    /// Throws 429 when any of the client's counts is at its limit.
    func check(_ client: Client, logger: Logger) async throws {
        let counters = counters(client)
        let counts: RedisValue
        do {
            counts = try await redis.eval(Self.checkScript, keys: counters.map(\.key), arguments: [])
        } catch {
            logger.warning("login throttle unavailable; letting the attempt through", metadata: ["error": "\(error)"])
            return
        }
        guard case .array(let values) = counts, values.count == 2 * counters.count else { return }
        var wait: Int?
        for (index, counter) in counters.enumerated() where (values[2 * index].int ?? 0) >= counter.limit {
            wait = max(wait ?? 0, values[2 * index + 1].int ?? 0)
        }
        if let wait {
            throw APIError(status: 429, code: "too_many_login_attempts", message: "too many failed logins; try again later", retryAfter: max(1, wait))
        }
    }

    /// Counts a failure against each of the client's counters.
    func recordFailure(_ client: Client, logger: Logger) async {
        do {
            _ = try await redis.eval(Self.failScript, keys: counters(client).map(\.key), arguments: [String(limits.windowSeconds)])
        } catch {
            logger.warning("login failure not counted", metadata: ["error": "\(error)"])
        }
    }

    /// After a success: an untrusted client's username count is cleared (its address count is
    /// not, or a sprayer could reset it with an account of its own). A device's count is left to
    /// expire: the device gets a new token with every success anyway.
    func recordSuccess(_ client: Client, logger: Logger) async {
        guard case .untrusted = client, let userKey = counters(client).first?.key else { return }
        _ = try? await redis.send(["DEL", userKey])
    }

    /// Each key's count and remaining seconds.
    static let checkScript = """
        local result = {}
        for _, key in ipairs(KEYS) do
            table.insert(result, tonumber(redis.call('GET', key) or '0'))
            table.insert(result, redis.call('TTL', key))
        end
        return result
        """

    /// INCR each key; the window starts with the first failure.
    static let failScript = """
        for _, key in ipairs(KEYS) do
            if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ARGV[1]) end
        end
        return 1
        """
}
