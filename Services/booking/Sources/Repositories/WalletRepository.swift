import Foundation
import GuildCore
import GuildPostgres
import GuildServiceKit
import Logging
import PostgresNIO

/// A change of a user's hours, before it is written.
struct LedgerPosting: Sendable {
    var userId: UUID
    var delta: Int
    var kind: LedgerEntry.Kind
    var bookingId: UUID? = nil
    var packId: String? = nil
    var reason: String? = nil
    var actorId: UUID? = nil
}

/// Hours move only here: one ledger entry and the wallet's running balance, in the caller's
/// transaction. The balance never goes below zero (a check constraint and the guarded update);
/// the ledger is append-only (a trigger), so the balance is always the sum of its entries.
enum Ledger {
    /// Writes `posting`; returns the entry's id and the new balance, or throws 422 when the
    /// balance is short.
    static func post(_ posting: LedgerPosting, on connection: PostgresConnection, logger: Logger) async throws -> (id: UUID, balance: Int) {
        let balance: Int?
        if posting.delta > 0 {
            balance = try await connection.query(
                """
                INSERT INTO wallets AS w (user_id, balance) VALUES (\(posting.userId), \(posting.delta))
                ON CONFLICT (user_id) DO UPDATE SET balance = w.balance + EXCLUDED.balance, updated_at = now()
                RETURNING balance
                """,
                logger: logger
            ).decode(Int.self).first { _ in true }
        } else {
            balance = try await connection.query(
                """
                UPDATE wallets SET balance = balance + \(posting.delta), updated_at = now()
                WHERE user_id = \(posting.userId) AND balance + \(posting.delta) >= 0
                RETURNING balance
                """,
                logger: logger
            ).decode(Int.self).first { _ in true }
        }
        guard let balance else {
            let current = try await Self.balance(of: posting.userId, on: connection, logger: logger)
            throw BookingFailure.insufficientHours(needed: -posting.delta, balance: current)
        }
        let id = UUID.timeOrdered()
        try await connection.query(
            """
            INSERT INTO ledger (id, user_id, delta, balance_after, kind, booking_id, pack_id, reason, actor_id)
            VALUES (\(id), \(posting.userId), \(posting.delta), \(balance), \(posting.kind.rawValue), \(posting.bookingId),
                    \(posting.packId), \(posting.reason), \(posting.actorId))
            """,
            logger: logger
        )
        return (id, balance)
    }

    /// The balance of `userId` (0 without a wallet).
    static func balance(of userId: UUID, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        try await connection.query("SELECT balance FROM wallets WHERE user_id = \(userId)", logger: logger)
            .decode(Int.self).first { _ in true } ?? 0
    }
}

/// Wallet reads and the writes that add hours (shop purchases and admin grants).
struct WalletRepository: Sendable {
    let database: Database

    /// What a purchase or grant answers.
    struct Credit: Encodable, Sendable {
        var success = true
        var transactionId: UUID
        var hoursAdded: Int
        var newBalance: Int
    }

    /// Buys the active pack `packId` for `userId`.
    func buy(packId: String, userId: UUID, key: IdempotencyKey?, logger: Logger) async throws -> StoredReply {
        try await database.idempotent(key, logger: logger) { connection in
            let hours = try await connection.query("SELECT hours FROM packs WHERE id = \(packId) AND active", logger: logger)
                .decode(Int.self).first { _ in true }
            guard let hours else { throw BookingFailure.packNotFound(packId) }
            let (id, balance) = try await Ledger.post(
                LedgerPosting(userId: userId, delta: hours, kind: .purchase, packId: packId), on: connection, logger: logger
            )
            return Credit(transactionId: id, hoursAdded: hours, newBalance: balance)
        }
    }

    /// An admin's grant of `hours` (negative takes hours back, never below zero).
    func grant(hours: Int, to userId: UUID, reason: String, by actor: UUID, key: IdempotencyKey?, logger: Logger) async throws -> StoredReply {
        try await database.idempotent(key, logger: logger) { connection in
            let (id, balance) = try await Ledger.post(
                LedgerPosting(userId: userId, delta: hours, kind: .grant, reason: reason, actorId: actor), on: connection, logger: logger
            )
            return Credit(transactionId: id, hoursAdded: hours, newBalance: balance)
        }
    }

    /// The balance and one page of ledger entries, newest first, after the entry `cursor`.
    func wallet(of userId: UUID, after cursor: UUID?, limit: Int, logger: Logger) async throws -> (balance: Int, entries: [LedgerEntry]) {
        try await database.connection(logger: logger) { connection in
            let balance = try await Ledger.balance(of: userId, on: connection, logger: logger)
            let rows = try await connection.query(
                """
                SELECT id, kind, delta, balance_after, booking_id, pack_id, reason, created_at FROM ledger
                WHERE user_id = \(userId) AND (\(cursor)::uuid IS NULL OR id < \(cursor))
                ORDER BY id DESC LIMIT \(limit)
                """,
                logger: logger
            )
            var entries: [LedgerEntry] = []
            for try await (id, kind, delta, after, bookingId, packId, reason, createdAt) in rows.decode(
                (UUID, String, Int, Int, UUID?, String?, String?, Date).self
            ) {
                entries.append(
                    LedgerEntry(
                        id: id, kind: LedgerEntry.Kind(rawValue: kind) ?? .grant, hours: delta, balanceAfter: after, bookingId: bookingId,
                        packId: packId, reason: reason, createdAt: createdAt
                    )
                )
            }
            return (balance, entries)
        }
    }
}
