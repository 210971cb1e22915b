import Foundation
import GuildCore
import HTTPTypes
import Hummingbird

extension Request {
    /// Decodes a JSON body by the contract's rules (``GuildJSON/decoder``: `snake_case` names,
    /// RFC 3339 dates), answering 400 with the offending field named, or 413 when larger than
    /// `limit` (the context's `maxUploadSize` unless a route takes more, such as a batch).
    /// `decoder` replaces the contract's for a body that carries data whose keys must stay as
    /// sent (the contract's decoder converts the keys of dictionaries too); its type then names
    /// its keys in `CodingKeys`.
    ///
    /// A field of the body's object that is `null` is a 400 naming it unless `nullable` names it:
    /// an optional field is given or left out, and `null` does not stand for "absent" (Swift's
    /// decoding would take it as absent, and a `PATCH` with `"memory": null` would change nothing
    /// while answering 200). Nested objects (`events[0].channel_id`) are held to the same rule,
    /// except in the fields `freeForm` names, whose content is the caller's own (`metadata`).
    public func decodeJSON<T: Decodable>(
        as type: T.Type, context: some RequestContext, limit: Int? = nil, decoder: JSONDecoder = GuildJSON.decoder,
        nullable: Set<String> = [], freeForm: Set<String> = []
    ) async throws -> T {
        var request = self
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit ?? context.maxUploadSize)
        } catch {
            throw APIError.payloadTooLarge
        }
        guard buffer.readableBytes > 0 else { throw APIError.malformedBody("a JSON body is required") }
        do {
            let decoded = try decoder.decode(T.self, from: Data(buffer: buffer))
            try Self.refuseUnknownAndNullFields(of: decoded, in: buffer, nullable: nullable, freeForm: freeForm)
            return decoded
        } catch let error as DecodingError {
            // Foundation reports a fractional or huge number decoded as an integer as corrupt
            // JSON with no path; when the JSON is fine, name the number that cannot be one.
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty,
                let value = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: buffer)),
                let field = value.firstNonIntegralNumber()
            {
                throw APIError.invalidField(field, "must be a whole number")
            }
            throw APIError(decoding: error)
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.malformedBody("the body is not valid JSON")
        }
    }
}

extension Request {
    /// Refuses a field of a JSON object body that the request's type does not have (the contract's
    /// `additionalProperties: false`: a misspelt field is an error, not silently ignored) and a
    /// `null` one other than those of `nullable`. The fields of a struct are its properties, in
    /// the contract's `snake_case`; a body decoded into anything else is not checked here.
    static func refuseUnknownAndNullFields<T>(
        of decoded: T, in buffer: ByteBuffer, nullable: Set<String>, freeForm: Set<String>
    ) throws {
        guard Mirror(reflecting: decoded).displayStyle == .struct,
            case .object(let members)? = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: buffer))
        else { return }
        try refuseUnknownFields(of: decoded, in: .object(members), path: nil, freeForm: freeForm)
        for key in members.keys.sorted() {
            if members[key] == .null && !nullable.contains(key) { throw APIError.invalidField(key, "must not be null") }
            if !freeForm.contains(key), let nested = members[key], let path = nested.firstNull(path: key) {
                throw APIError.invalidField(path, "must not be null")
            }
        }
    }

    /// Walks `json` beside the value decoded from it: an object read into a struct may have only
    /// the struct's properties as fields, at any depth (`events[0].colour`), an array is walked
    /// item by item, and an optional is looked into. Anything else (dates, ids, enums, free-form
    /// values) is left alone.
    private static func refuseUnknownFields(of value: Any, in json: JSONValue, path: String?, freeForm: Set<String>) throws {
        let mirror = Mirror(reflecting: value)
        switch (mirror.displayStyle, json) {
        case (.optional, _):
            if let wrapped = mirror.children.first?.value { try refuseUnknownFields(of: wrapped, in: json, path: path, freeForm: freeForm) }
        case (.struct, .object(let members)):
            var properties: [String: Any] = [:]
            for child in mirror.children {
                guard let label = child.label else { continue }
                properties[GuildJSON.snakeCase(label.hasPrefix("_") ? String(label.dropFirst()) : label)] = child.value
            }
            for key in members.keys.sorted() {
                let field = path.map { "\($0).\(key)" } ?? key
                guard let property = properties[key] else { throw APIError.invalidField(field, "is not a field of this request") }
                if path == nil && freeForm.contains(key) { continue }
                if let member = members[key] { try refuseUnknownFields(of: property, in: member, path: field, freeForm: freeForm) }
            }
        case (.collection, .array(let elements)):
            for (index, (element, item)) in zip(mirror.children.map(\.value), elements).enumerated() {
                try refuseUnknownFields(of: element, in: item, path: "\(path ?? "body")[\(index)]", freeForm: freeForm)
            }
        default:
            return
        }
    }
}

extension JSONValue {
    /// The path of the first `null` inside an object of this value (`events[0].channel_id`), if any.
    func firstNull(path: String) -> String? {
        switch self {
        case .object(let members):
            for key in members.keys.sorted() {
                guard let member = members[key] else { continue }
                if member == .null { return "\(path).\(key)" }
                if let found = member.firstNull(path: "\(path).\(key)") { return found }
            }
            return nil
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                if let found = element.firstNull(path: "\(path)[\(index)]") { return found }
            }
            return nil
        default:
            return nil
        }
    }
}

extension APIError {
    /// A 400 that names the field a decoding error is about.
    public init(decoding error: DecodingError) {
        // The names as the contract spells them (`discount_tiers[1].from_hours`): the decoder's
        // keys are the Swift names the snake-case strategy made of them.
        func path(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += (text.isEmpty ? "" : ".") + GuildJSON.snakeCase(key.stringValue)
                }
            }
            return text.isEmpty ? "body" : text
        }
        switch error {
        case .keyNotFound(let key, let context):
            self = .invalidField(path(context.codingPath + [key]), "is required")
        case .typeMismatch(let type, let context):
            self = .invalidField(path(context.codingPath), "must be \(Self.describe(type))")
        case .valueNotFound(let type, let context):
            self = .invalidField(path(context.codingPath), "must be \(Self.describe(type)), not null")
        case .dataCorrupted(let context):
            self = context.codingPath.isEmpty
                ? .malformedBody("the body is not valid JSON")
                : .invalidField(
                    path(context.codingPath),
                    context.debugDescription.hasPrefix("Cannot initialize") ? "is not one of the values the field takes" : context.debugDescription
                )
        @unknown default:
            self = .malformedBody("the body could not be read")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int64.Type, is Int32.Type: "an integer"
        case is Double.Type: "a number"
        case is Bool.Type: "a boolean"
        default: "\(type)".contains("Array") ? "an array" : "an object"
        }
    }
}

extension JSONValue {
    /// The path of the first number that is not a whole number an `Int` can hold, if any.
    func firstNonIntegralNumber(path: String = "") -> String? {
        switch self {
        case .number(let value):
            return value.rounded() == value && abs(value) < 9.0e15 ? nil : (path.isEmpty ? "body" : path)
        case .object(let members):
            for key in members.keys.sorted() {
                if let found = members[key]?.firstNonIntegralNumber(path: path.isEmpty ? key : "\(path).\(key)") { return found }
            }
            return nil
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                if let found = element.firstNonIntegralNumber(path: "\(path)[\(index)]") { return found }
            }
            return nil
        default:
            return nil
        }
    }
}

extension Request {
    /// Decodes the body of a partial update (`PATCH`): a struct whose fields are all optional,
    /// of which at least one must be given — otherwise a 400 naming them all (`ignoring` names
    /// fields that say what to change rather than how, such as an id).
    public func decodeChange<T: Decodable>(
        as type: T.Type, context: some RequestContext, ignoring: Set<String> = [], nullable: Set<String> = []
    ) async throws -> T {
        let body = try await decodeJSON(as: type, context: context, nullable: nullable)
        let fields = Mirror(reflecting: body).children.compactMap { child -> (name: String, given: Bool)? in
            guard let label = child.label else { return nil }
            let name = GuildJSON.snakeCase(label)
            guard !ignoring.contains(name) else { return nil }
            return (name, (child.value as? any OptionalValue)?.isNone == false)
        }
        guard fields.contains(where: \.given) else {
            throw APIError.malformedBody("give at least one of \(fields.map(\.name).joined(separator: ", "))")
        }
        return body
    }
}

/// Lets ``Request/decodeChange(as:context:ignoring:)`` see whether a field of any optional type was given.
protocol OptionalValue {
    var isNone: Bool { get }
}

extension Optional: OptionalValue {
    var isNone: Bool { self == nil }
}
