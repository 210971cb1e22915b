import GuildCore
import PostgresNIO

/// Classifies PostgreSQL errors.
public enum DatabaseErrors {
    /// True when the error means the database is unreachable or going away (answer 503), not that the query was wrong.
    public static func isUnavailable(_ error: PSQLError) -> Bool {
        if error.code == .server {
            // Class 08: connection exception; 57P0x: shutting down / cannot connect now; 53: insufficient resources.
            let state = error.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("08") || state.hasPrefix("57P") || state.hasPrefix("53")
        }
        return true
    }

    /// The answer for a server error caused by the request's data rather than by an outage:
    /// class 22 (a value PostgreSQL cannot take, such as a NUL byte) is a 400, class 23 (a
    /// constraint the route did not map itself) a 409, and a serialization failure or deadlock
    /// a 503 to retry. Nil for everything else.
    public static func answer(for error: PSQLError) -> APIError? {
        guard error.code == .server, let state = error.serverInfo?[.sqlState] else { return nil }
        if state.hasPrefix("22") { return APIError(status: 400, code: "invalid_input", message: "a value in the request cannot be stored") }
        if state.hasPrefix("23") { return .conflict("conflict", "the request clashes with existing data") }
        if state == "40001" || state == "40P01" { return .unavailable("database (busy)", retryAfter: 1) }
        return nil
    }

    /// The SQLSTATE of a server error (`23505` unique violation, `23P01` exclusion violation …).
    /// Also looks inside a failed transaction for the error of its body or its commit.
    public static func sqlState(_ error: any Error) -> String? {
        if let error = error as? PSQLError { return error.serverInfo?[.sqlState] }
        if let error = error as? PostgresTransactionError {
            return error.closureError.flatMap(sqlState) ?? error.commitError.flatMap(sqlState)
        }
        return nil
    }
}
