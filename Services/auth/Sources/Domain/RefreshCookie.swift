import Foundation
import HTTPTypes
import Hummingbird

/// The refresh token as a browser cookie, for web apps that keep no token a script can read:
/// `HttpOnly; Secure; SameSite=Strict`, sent to `/api/auth` only. A login or exchange that asks
/// for it (`"refresh_cookie": true`) gets the token this way instead of in its body; `refresh`
/// then takes it from the cookie, and `logout` clears it.
///
/// The cookie counts only on a request that also carries ``requiredHeader``: a form or a link on
/// another site cannot set a custom header, so it cannot spend the cookie (SameSite already keeps
/// other sites' requests from carrying it; the header holds where SameSite does not).
///
/// Beside it goes ``hintName``, a cookie scripts may read that holds no secret (`1`), so a page
/// knows there may be a session to resume without asking for one that is not there.
struct RefreshCookie: Sendable {
    static let name = "guildhall_refresh"
    static let path = "/api/auth"
    static let hintName = "guildhall_signed_in"
    static let requiredHeader = HTTPField.Name("X-Requested-With")!

    /// The cookie's Max-Age: the session's lifetime.
    let lifetimeSeconds: Int

    init(lifetime: Duration) {
        self.lifetimeSeconds = Int(lifetime.components.seconds)
    }

    /// The cookies that store `token`, and the hint.
    func storing(_ token: String) -> [Cookie] {
        [
            Cookie(name: Self.name, value: token, maxAge: lifetimeSeconds, path: Self.path, secure: true, httpOnly: true, sameSite: .strict),
            Cookie(name: Self.hintName, value: "1", maxAge: lifetimeSeconds, path: "/", secure: true, httpOnly: false, sameSite: .strict),
        ]
    }

    /// The cookies that remove both.
    var cleared: [Cookie] {
        let epoch = Date(timeIntervalSince1970: 0)
        return [
            Cookie(name: Self.name, value: "", expires: epoch, maxAge: 0, path: Self.path, secure: true, httpOnly: true, sameSite: .strict),
            Cookie(name: Self.hintName, value: "", expires: epoch, maxAge: 0, path: "/", secure: true, httpOnly: false, sameSite: .strict),
        ]
    }

    /// The refresh token a request presents as a cookie, when it also carries the required header.
    static func presented(in request: Request) -> String? {
        // Present is enough, whatever its value: it is the header's presence a cross-site form cannot forge.
        guard request.headers[requiredHeader] != nil else { return nil }
        guard let value = request.cookies[name]?.value, !value.isEmpty else { return nil }
        return value
    }
}
