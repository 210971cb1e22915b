import GuildCore
import HTTPTypes
import Hummingbird

extension Router {
    /// Answers `405` with an `Allow` header, in the JSON error shape, for every method a known
    /// path does not serve (Hummingbird answers `404` by default). Call after all routes are added.
    /// `TRACE` and `QUERY` are refused too (only the five methods routes use are ever allowed).
    public func answerUnsupportedMethodsWith405() {
        let methods: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete]
        let refusedOnly: [HTTPRequest.Method] = [.trace, HTTPRequest.Method("QUERY")!]
        var served: [String: (path: RouterPath, methods: Set<HTTPRequest.Method>)] = [:]
        for route in routes {
            served[route.path.description, default: (route.path, [])].methods.insert(route.method)
        }
        for (_, entry) in served {
            let allowed = methods.filter { entry.methods.contains($0) }.map(\.rawValue)
            guard !allowed.isEmpty else { continue }
            for method in methods + refusedOnly where !entry.methods.contains(method) {
                on(entry.path, method: method) { _, _ -> Response in
                    throw APIError.methodNotAllowed(allowed: allowed)
                }
            }
        }
    }
}
