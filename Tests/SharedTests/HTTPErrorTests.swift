import Foundation
import GuildCore
import GuildServiceKit
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import GuildTestSupport
import Testing

@Suite("The HTTP kit answers every failure in the contract's JSON shape", .watched)
struct HTTPErrorTests {
    struct Order: Decodable {
        var item: String
        var quantity: Int
    }

    func makeApplication() -> some ApplicationProtocol {
        let router = Router(context: GuildRequestContext.self)
        router.add(middleware: GuildMiddleware(verifier: nil, service: "test"))
        router.post("/orders") { request, context -> HTTPResponse.Status in
            let order = try await request.decodeJSON(as: Order.self, context: context)
            guard order.quantity > 0 else { throw APIError.invalidField("quantity", "must be positive") }
            return .created
        }
        router.get("/orders/conflict") { _, _ -> HTTPResponse.Status in throw APIError.conflict("already_done", "done already") }
        router.get("/crash") { _, _ -> HTTPResponse.Status in throw CocoaError(.fileNoSuchFile) }
        router.group("/me", context: AuthenticatedContext.self).get { _, _ in "secret" }
        router.answerUnsupportedMethodsWith405()
        return Application(router: router)
    }

    func errorBody(_ response: TestResponse) throws -> ErrorBody {
        #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
        return try JSONDecoder().decode(ErrorBody.self, from: Data(buffer: response.body))
    }

    func errorCode(_ response: TestResponse) -> String? {
        (try? errorBody(response))?.error.code
    }

    @Test func unknownPathIsJSON404WithRequestId() async throws {
        try await makeApplication().test(.router) { client in
            try await client.execute(uri: "/nowhere", method: .get, headers: [.requestID: "req-123"]) { response in
                #expect(response.status == .notFound)
                let body = try errorBody(response)
                #expect(body.error.code == "not_found")
                #expect(body.error.requestId == "req-123")
                #expect(response.headers[.requestID] == "req-123")
            }
        }
    }

    @Test func wrongMethodIs405WithAllowHeader() async throws {
        try await makeApplication().test(.router) { client in
            try await client.execute(uri: "/orders", method: .delete) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "POST")
                #expect(errorCode(response) == "method_not_allowed")
            }
        }
    }

    @Test(arguments: [
        (#"{"item": "x"}"#, "quantity: is required"),
        (#"{"item": "x", "quantity": "two"}"#, "quantity: must be an integer"),
        (#"{"item": 5, "quantity": 1}"#, "item: must be a string"),
        (#"{"item": "x", "quantity": 0}"#, "quantity: must be positive"),
    ])
    func invalidFieldsAre400NamingTheField(body: String, message: String) async throws {
        try await makeApplication().test(.router) { client in
            try await client.execute(uri: "/orders", method: .post, body: ByteBuffer(string: body)) { response in
                #expect(response.status == .badRequest)
                let error = try errorBody(response).error
                #expect(error.code == "invalid_field")
                #expect(error.message == message)
            }
        }
    }

    @Test func malformedAndEmptyBodiesAre400() async throws {
        try await makeApplication().test(.router) { client in
            for body in ["{not json", ""] {
                try await client.execute(uri: "/orders", method: .post, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .badRequest)
                    #expect(errorCode(response) == "malformed_body")
                }
            }
        }
    }

    @Test func oversizedBodyIs413() async throws {
        try await makeApplication().test(.router) { client in
            let big = "{\"item\": \"" + String(repeating: "x", count: 70_000) + "\", \"quantity\": 1}"
            try await client.execute(uri: "/orders", method: .post, body: ByteBuffer(string: big)) { response in
                #expect(response.status == .contentTooLarge)
                #expect(errorCode(response) == "payload_too_large")
            }
        }
    }

    @Test func businessErrorsKeepTheirStatusAndCode() async throws {
        try await makeApplication().test(.router) { client in
            try await client.execute(uri: "/orders/conflict", method: .get) { response in
                #expect(response.status == .conflict)
                #expect(errorCode(response) == "already_done")
            }
            try await client.execute(uri: "/orders", method: .post, body: ByteBuffer(string: #"{"item":"x","quantity":2}"#)) { response in
                #expect(response.status == .created)
            }
        }
    }

    @Test func unexpectedErrorsAreJSON500WithoutDetails() async throws {
        try await makeApplication().test(.router) { client in
            try await client.execute(uri: "/crash", method: .get) { response in
                #expect(response.status == .internalServerError)
                let error = try errorBody(response).error
                #expect(error.code == "internal_error")
                #expect(!error.message.contains("fileNoSuchFile"))
            }
        }
    }

    @Test func authenticatedRoutesRefuseAnonymousCallers() async throws {
        try await makeApplication().test(.router) { client in
            for headers: HTTPFields in [[:], [.authorization: "Bearer not-a-token"]] {
                try await client.execute(uri: "/me", method: .get, headers: headers) { response in
                    #expect(response.status == .unauthorized)
                    #expect(errorCode(response) == "unauthorized")
                }
            }
        }
    }
}
