import Foundation
import GuildCore
import GuildServiceKit
import Hummingbird

/// `/api/leveling/tools`: the catalogue (public), its changes (admins), members' tools and unlocks.
struct ToolsController: Sendable {
    let tools: ToolRepository
    let profiles: LevelingRepository
    let members: MemberLookup
    let curve: LevelCurve
    var rules: ToolRules { ToolRules(maximumLevel: curve.maximumLevel) }

    var publicEndpoints: RouteCollection<GuildRequestContext> {
        RouteCollection(context: GuildRequestContext.self).get("tools", use: catalogue)
    }

    var endpoints: RouteCollection<AuthenticatedContext> {
        RouteCollection(context: AuthenticatedContext.self).get("tools/user/:discord_id", use: memberTools)
    }

    var adminEndpoints: RouteCollection<AdminContext> {
        RouteCollection(context: AdminContext.self)
            .post("tools", use: create)
            .patch("tools/:tool_id", use: update)
            .delete("tools/:tool_id", use: remove)
            .post("tools/unlock/:discord_id/:tool_id", use: unlock)
    }

    struct Catalogue: ResponseEncodable {
        var tools: [Tool]
    }

    @Sendable func catalogue(request: Request, context: GuildRequestContext) async throws -> Catalogue {
        Catalogue(tools: try await tools.catalogue(logger: context.logger))
    }

    struct NewTool: Decodable {
        var id: String
        var name: String
        var description: String?
        var unlockLevel: Int
    }

    /// `{id, name, description?, unlock_level}` (admins) → 201; 409 when the id is taken.
    @Sendable func create(request: Request, context: AdminContext) async throws -> EditedResponse<Tool> {
        let body = try await request.decodeJSON(as: NewTool.self, context: context)
        let tool = try rules.checked(Tool(id: body.id, name: body.name, description: body.description ?? "", unlockLevel: body.unlockLevel, active: true))
        try await tools.create(tool, logger: context.logger)
        return EditedResponse(status: .created, response: tool)
    }

    struct ToolChange: Decodable {
        var name: String?
        var description: String?
        var unlockLevel: Int?
        var active: Bool?
    }

    /// Changes a tool's name, description, unlock level or `active` (admins).
    @Sendable func update(request: Request, context: AdminContext) async throws -> Tool {
        guard let id = context.parameters.get("tool_id"), ToolRules.isToolId(id) else { throw APIError.toolNotFound }
        let body = try await request.decodeChange(as: ToolChange.self, context: context)
        let (name, description, level) = try rules.checked(name: body.name, description: body.description, unlockLevel: body.unlockLevel)
        guard let tool = try await tools.update(id, name: name, description: description, unlockLevel: level, active: body.active, logger: context.logger) else {
            throw APIError.toolNotFound
        }
        return tool
    }

    struct Removed: ResponseEncodable {
        var success = true
        /// True when members had unlocked it: retired (`active` false) and kept, not deleted.
        var retired: Bool
    }

    /// Deletes a tool nobody unlocked; retires one someone did (admins).
    @Sendable func remove(request: Request, context: AdminContext) async throws -> Removed {
        guard let id = context.parameters.get("tool_id"), ToolRules.isToolId(id), let retired = try await tools.remove(id, logger: context.logger) else {
            throw APIError.toolNotFound
        }
        context.logger.info(retired ? "tool retired" : "tool deleted", metadata: ["tool_id": "\(id)"])
        return Removed(retired: retired)
    }

    struct MemberTools: ResponseEncodable {
        var discordId: String
        var level: Int
        var tools: [MemberTool]
    }

    /// The catalogue with `unlocked` for one member: the member and staff only.
    @Sendable func memberTools(request: Request, context: AuthenticatedContext) async throws -> MemberTools {
        let discordId = try MemberLookup.discordId(context)
        try await members.requireOwnerOrStaff(discordId, context: context)
        let level = curve.level(for: try await profiles.profile(discordId, logger: context.logger)?.xp ?? 0)
        return MemberTools(discordId: discordId, level: level, tools: try await tools.tools(of: discordId, level: level, logger: context.logger))
    }

    struct Unlocked: ResponseEncodable {
        var success = true
        var discordId: String
        var toolId: String
        /// False when the member had unlocked it before.
        var newlyUnlocked: Bool
    }

    /// Unlocks a tool for a member whatever their level (admins), with `leveling.tool_unlocked`.
    @Sendable func unlock(request: Request, context: AdminContext) async throws -> Unlocked {
        let discordId = try MemberLookup.discordId(context)
        guard let toolId = context.parameters.get("tool_id"), ToolRules.isToolId(toolId) else { throw APIError.toolNotFound }
        let newly = try await tools.unlock(toolId, for: discordId, logger: context.logger)
        return Unlocked(discordId: discordId, toolId: toolId, newlyUnlocked: newly)
    }
}
