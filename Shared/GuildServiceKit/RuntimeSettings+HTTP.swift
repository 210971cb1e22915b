import Foundation
import GuildCore
import Hummingbird

extension RuntimeSettings where Document: ResponseCodable {
    /// `GET path` (the settings in force) and `GET path/history` (the changes, newest first;
    /// `?limit=` 1–200, default 50; `?cursor=`) for the callers `Context` admits.
    public func readEndpoints<Context: RequestContext>(_ path: String, context: Context.Type) -> RouteCollection<Context> {
        RouteCollection(context: Context.self)
            .get(RouterPath(path)) { _, _ in self.current }
            .get(RouterPath("\(path)/history")) { request, context in
                let page = try SequencePageRequest(request)
                let changes = try await self.history(before: page.cursor, limit: page.fetchLimit, logger: context.logger)
                return Page(fetched: changes, request: page, number: \.id)
            }
    }

    /// `PUT path`: an admin's change, the whole document with every field required. `check` gives
    /// the document to store or throws the 400 naming the field; a refused change changes nothing.
    /// In force on every replica within a second.
    public func changeEndpoint(_ path: String, check: @escaping @Sendable (Document) throws -> Document) -> RouteCollection<AdminContext> {
        RouteCollection(context: AdminContext.self).put(RouterPath(path)) { request, context in
            let body = try await request.decodeJSON(as: Document.self, context: context)
            let stored = try await self.change(to: try check(body), by: context.caller.userId, logger: context.logger)
            context.logger.info("settings changed", metadata: ["event": "\(self.changeEvent)", "admin_id": "\(context.caller.userId)"])
            return stored
        }
    }
}
