import Foundation
import Hummingbird

/// A session as its owner or an admin sees it.
struct SessionResponse: ResponseEncodable, Sendable {
    var id: UUID
    var userId: UUID
    var platform: String
    var device: String?
    var createdAt: Date
    var lastSeenAt: Date
    var expiresAt: Date
    var current: Bool
}
