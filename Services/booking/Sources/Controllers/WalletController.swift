import Foundation
import GuildCore
import GuildServiceKit
import Hummingbird

/// The hours wallet: balance and ledger, shop purchases, admin grants.
struct WalletController: Sendable {
    let wallets: WalletRepository

    var endpoints: RouteCollection<AuthenticatedContext> {
        let routes = RouteCollection(context: AuthenticatedContext.self)
        routes.get("wallet", use: wallet)
        routes.post("shop/buy", use: buy)
        routes.post("admin/grant", use: grant)
        return routes
    }

    struct Wallet: ResponseEncodable {
        var hoursBalance: Int
        var transactions: [LedgerEntry]
        var nextCursor: String?

        enum CodingKeys: String, CodingKey {
            case transactions
            case hoursBalance = "hours_balance"
            case nextCursor = "next_cursor"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(hoursBalance, forKey: .hoursBalance)
            try container.encode(transactions, forKey: .transactions)
            try container.encode(nextCursor, forKey: .nextCursor)
        }
    }

    /// The caller's wallet; staff may look at anyone's with `?user_id=`.
    @Sendable func wallet(request: Request, context: AuthenticatedContext) async throws -> Wallet {
        var userId = try context.caller.userId
        if let other = request.query("user_id") {
            guard let id = UUID(uuidString: other) else { throw APIError.invalidField("user_id", "must be a user id") }
            if id != userId { try context.requireStaff() }
            userId = id
        }
        let limit = try Pagination.limit(request)
        let (balance, entries) = try await wallets.wallet(of: userId, after: try Pagination.cursor(request), limit: limit + 1, logger: context.logger)
        let page = Page(fetched: entries, limit: limit) { $0.id.uuidString.lowercased() }
        return Wallet(hoursBalance: balance, transactions: page.items, nextCursor: page.nextCursor)
    }

    struct BuyRequest: Decodable {
        var packId: String
        enum CodingKeys: String, CodingKey { case packId = "pack_id" }
    }

    @Sendable func buy(request: Request, context: AuthenticatedContext) async throws -> Response {
        let caller = try context.caller
        let body = try await request.decodeJSON(as: BuyRequest.self, context: context)
        let packId = try BookingRules.identifier(body.packId, field: "pack_id")
        let key = try IdempotencyKey.from(request, owner: caller.userId, fingerprint: "buy|\(packId)")
        return try await wallets.buy(packId: packId, userId: caller.userId, key: key, logger: context.logger).response
    }

    struct GrantRequest: Decodable {
        var userId: String
        var hours: Int
        var reason: String
        enum CodingKeys: String, CodingKey {
            case hours, reason
            case userId = "user_id"
        }
    }

    /// Hours that may be granted (or, negative, taken back) at once.
    static let grantRange = -10_000...10_000

    @Sendable func grant(request: Request, context: AuthenticatedContext) async throws -> Response {
        try context.require(.admin)
        let caller = try context.caller
        let body = try await request.decodeJSON(as: GrantRequest.self, context: context)
        guard let userId = UUID(uuidString: body.userId) else { throw APIError.invalidField("user_id", "must be a user id") }
        guard Self.grantRange.contains(body.hours), body.hours != 0 else {
            throw APIError.invalidField("hours", "must be a non-zero whole number from \(Self.grantRange.lowerBound) to \(Self.grantRange.upperBound)")
        }
        let reason = try BookingRules.text(body.reason, field: "reason", maximum: 200)
        let key = try IdempotencyKey.from(request, owner: caller.userId, fingerprint: "grant|\(userId.uuidString.lowercased())|\(body.hours)|\(reason)")
        let reply = try await wallets.grant(hours: body.hours, to: userId, reason: reason, by: caller.userId, key: key, logger: context.logger)
        context.logger.info("hours granted", metadata: ["user_id": "\(userId)", "hours": "\(body.hours)", "replayed": "\(reply.replayed)"])
        return reply.response
    }
}
