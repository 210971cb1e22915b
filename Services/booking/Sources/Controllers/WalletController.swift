import Foundation
import GuildClients
import GuildCore
import GuildPostgres
import GuildServiceKit
import Hummingbird

/// The hours wallet: balance and ledger, shop purchases, admin grants.
struct WalletController: Sendable {
    let wallets: WalletRepository
    let users: UserDirectory

    var endpoints: RouteCollection<AuthenticatedContext> {
        RouteCollection(context: AuthenticatedContext.self)
            .get("wallet", use: wallet)
            .post("shop/buy", use: buy)
    }

    var adminEndpoints: RouteCollection<AdminContext> {
        RouteCollection(context: AdminContext.self).post("admin/grant", use: grant)
    }

    /// What a wallet page carries beside its ledger entries.
    struct Balance: Encodable, Sendable {
        var hoursBalance: Int
    }

    /// The caller's wallet (`{hours_balance, transactions, next_cursor}`); staff may look at anyone's with `?user_id=`.
    @Sendable func wallet(request: Request, context: AuthenticatedContext) async throws -> Page<LedgerEntry> {
        let userId = try context.subject(of: request)
        let page = try PageRequest(request)
        let (balance, entries) = try await wallets.wallet(of: userId, after: page.cursor, limit: page.fetchLimit, logger: context.logger)
        return Page(fetched: entries, request: page, itemsKey: "transactions", extra: Balance(hoursBalance: balance)) { $0.id }
    }

    struct BuyRequest: Decodable {
        var packId: String
    }

    @Sendable func buy(request: Request, context: AuthenticatedContext) async throws -> Response {
        let caller = context.caller
        let body = try await request.decodeJSON(as: BuyRequest.self, context: context)
        let packId = try BookingRules.identifier(body.packId, field: "pack_id")
        let key = try IdempotencyKey.from(request, owner: caller.userId, fingerprint: "buy|\(packId)")
        return try await wallets.buy(packId: packId, userId: caller.userId, key: key, logger: context.logger).response
    }

    struct GrantRequest: Decodable {
        var userId: String
        var hours: Int
        var reason: String
    }

    /// Hours that may be granted (or, negative, taken back) at once.
    static let grantRange = -10_000...10_000

    @Sendable func grant(request: Request, context: AdminContext) async throws -> Response {
        let caller = context.caller
        let body = try await request.decodeJSON(as: GrantRequest.self, context: context)
        guard let userId = UUID(uuidString: body.userId) else { throw APIError.invalidField("user_id", "must be a user id") }
        guard Self.grantRange.contains(body.hours), body.hours != 0 else {
            throw APIError.invalidField("hours", "must be a non-zero whole number from \(Self.grantRange.lowerBound) to \(Self.grantRange.upperBound)")
        }
        let reason = try BookingRules.text(body.reason, field: "reason", maximum: 200)
        // Hours go only to accounts that exist (auth owns them; users are disabled, never deleted,
        // so an account seen a moment ago still exists: asked again only after a minute).
        guard try await users.recentAccount(userId).userFound else { throw APIError.userNotFound(userId) }
        let key = try IdempotencyKey.from(request, owner: caller.userId, fingerprint: "grant|\(userId.uuidString.lowercased())|\(body.hours)|\(reason)")
        let reply = try await wallets.grant(hours: body.hours, to: userId, reason: reason, by: caller.userId, key: key, logger: context.logger)
        context.logger.info("hours granted", metadata: ["user_id": "\(userId)", "hours": "\(body.hours)", "replayed": "\(reply.replayed)"])
        return reply.response
    }
}
