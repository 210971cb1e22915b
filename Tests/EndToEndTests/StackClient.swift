import AsyncHTTPClient
import Foundation
import GuildCore
import GuildTestSupport
import NIOCore
import NIOHTTP1

/// A client of the running stack, through nginx.
struct StackClient {
    /// One answer.
    struct Reply {
        var status: Int
        var headers: HTTPHeaders
        var body: Data

        /// The body as JSON.
        func json() throws -> JSONValue {
            try JSONDecoder().decode(JSONValue.self, from: body)
        }

        /// The `error.code` of a contract error body.
        func errorCode() throws -> String? {
            try json()["error"]?["code"]?.stringValue
        }

        var text: String { String(decoding: body, as: UTF8.self) }
    }

    let baseURL: String

    /// Redirects are answers to look at, not to follow.
    static let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))

    init() throws {
        baseURL = try TestEnvironment.baseURL()
    }

    func send(
        _ method: HTTPMethod,
        _ path: String,
        token: String? = nil,
        headers: [(String, String)] = [],
        body: Data? = nil
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            if !request.headers.contains(name: "Content-Type") { request.headers.add(name: "Content-Type", value: "application/json") }
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response = try await Self.client.execute(request, timeout: .seconds(15))
        let bytes = try await response.body.collect(upTo: 4 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Data(bytes.readableBytesView))
    }

    func send(_ method: HTTPMethod, _ path: String, token: String? = nil, json: [String: String]) async throws -> Reply {
        try await send(method, path, token: token, body: try JSONEncoder().encode(json))
    }

    /// Sends `raw` as the JSON body.
    func send(_ method: HTTPMethod, _ path: String, token: String? = nil, headers: [(String, String)] = [], raw: String) async throws -> Reply {
        try await send(method, path, token: token, headers: headers, body: Data(raw.utf8))
    }

    /// `GET path` on a service replica's private listener (not through nginx), with the shared secret.
    static func internalGet(_ service: String, _ path: String, replica: Int = 1) async throws -> Reply {
        var request = HTTPClientRequest(url: try StackAddresses.url(of: service, replica: replica, privateListener: true) + path)
        request.headers.add(name: "Authorization", value: "Bearer \(try TestEnvironment.require("GUILDHALL_INTERNAL_SECRET"))")
        let response = try await client.execute(request, timeout: .seconds(15))
        let bytes = try await response.body.collect(upTo: 4 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Data(bytes.readableBytesView))
    }

    /// `POST path` with a JSON `body` on a service replica's private listener (not through
    /// nginx), with the shared secret unless `secret` says otherwise (empty: none).
    static func internalPost(
        _ service: String, _ path: String, _ body: String, replica: Int = 1, secret: String? = nil, headers: [(String, String)] = []
    ) async throws -> Reply {
        var request = HTTPClientRequest(url: try StackAddresses.url(of: service, replica: replica, privateListener: true) + path)
        request.method = .POST
        let secret = try secret ?? TestEnvironment.require("GUILDHALL_INTERNAL_SECRET")
        if !secret.isEmpty { request.headers.add(name: "Authorization", value: "Bearer \(secret)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await client.execute(request, timeout: .seconds(15))
        let bytes = try await response.body.collect(upTo: 4 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: Data(bytes.readableBytesView))
    }

    /// A user made for one test.
    struct TestUser {
        var id: String
        var token: String
        var refresh: String
        var name: String
    }

    /// A name no other test uses.
    static func unique(_ prefix: String) -> String { "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())" }

    /// Creates a user with `role` as the admin and logs them in.
    func makeUser(role: String, admin: String) async throws -> TestUser {
        let name = Self.unique(role)
        let created = try await send(.POST, "/api/users", token: admin, json: ["username": name, "password": "password-\(name)", "role": role])
        guard created.status == 201, let id = try created.json()["user_id"]?.stringValue else {
            throw Failure(message: "creating a \(role) answered \(created.status): \(created.text)")
        }
        let login = try await send(.POST, "/api/auth/login", json: ["username": name, "password": "password-\(name)"])
        guard login.status == 200 else { throw Failure(message: "login of \(name) answered \(login.status): \(login.text)") }
        let body = try login.json()
        return TestUser(id: id, token: body["token"]?.stringValue ?? "", refresh: body["refresh_token"]?.stringValue ?? "", name: name)
    }

    /// Logs in as the stack's first admin and returns the access token.
    func adminToken() async throws -> String {
        let reply = try await send(
            .POST, "/api/auth/login",
            json: ["username": try TestEnvironment.require("GUILDHALL_ADMIN_USERNAME"), "password": try TestEnvironment.require("GUILDHALL_ADMIN_PASSWORD")]
        )
        guard reply.status == 200, let token = try reply.json()["token"]?.stringValue else {
            throw Failure(message: "admin login answered \(reply.status): \(reply.text)")
        }
        return token
    }

    struct Failure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }
}
