import Foundation
import GuildCore

/// What a ticket, a message and the desk's settings may hold; checked at the edge, once.
enum TicketRules {
    /// Subjects: 1 to 200 characters.
    static let subjectLength = 1...200
    /// Messages: 1 to 4000 characters.
    static let messageLength = 1...4000
    /// `client_message_id`: 1 to 64 visible ASCII characters.
    static let clientIdLength = 1...64

    /// `text` trimmed, within `range` characters and free of NUL; a 400 naming `field` otherwise.
    static func text(_ text: String, field: String, range: ClosedRange<Int>) throws -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard range.contains(trimmed.count), !trimmed.unicodeScalars.contains("\u{0}") else {
            throw APIError.invalidField(field, "must be \(range.lowerBound) to \(range.upperBound) characters")
        }
        return trimmed
    }

    /// A retry key chosen by the client.
    static func clientMessageId(_ text: String) throws -> String {
        guard clientIdLength.contains(text.count), text.unicodeScalars.allSatisfy({ (0x21...0x7E).contains($0.value) }) else {
            throw APIError.invalidField("client_message_id", "must be 1 to 64 visible ASCII characters")
        }
        return text
    }

    /// A category name: 1 to 32 of `a-z`, `0-9`, `_`, `-`.
    static func isCategoryName(_ name: String) -> Bool {
        (1...32).contains(name.count) && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" }
    }

    /// Settings an admin may give: limits within reason, 1 to 20 distinct categories.
    static func check(_ settings: DeskSettings) throws {
        guard (1...100).contains(settings.maxOpenPerUser) else { throw APIError.invalidField("max_open_per_user", "must be 1 to 100") }
        guard (0...8760).contains(settings.autoCloseHours) else { throw APIError.invalidField("auto_close_hours", "must be 0 (never) to 8760") }
        guard (1...20).contains(settings.categories.count), Set(settings.categories).count == settings.categories.count,
            settings.categories.allSatisfy(isCategoryName)
        else { throw APIError.invalidField("categories", "must be 1 to 20 distinct names of a-z, 0-9, _ and -, each up to 32 characters") }
    }

    /// Who may do what with a ticket: decided here, for the routes, the room and the statements
    /// that check it themselves (``visibleOwner(reader:isStaff:)``).
    struct Access {
        var isOwner: Bool
        var isStaff: Bool

        /// What `reader` may do with a ticket of `owner`.
        init(owner: UUID, reader: UUID, isStaff: Bool) {
            self.isOwner = owner == reader
            self.isStaff = isStaff
        }

        /// Whose tickets `reader` takes part in, for a statement's `user_id` condition: nil
        /// (anyone's) for staff, otherwise the reader's own.
        static func visibleOwner(reader: UUID, isStaff: Bool) -> UUID? {
            isStaff ? nil : reader
        }

        /// Read, send, mark read, transcript, join the room, close: the owner and staff.
        var canTakePart: Bool { isOwner || isStaff }
        /// Reopen and claim: staff.
        var canManage: Bool { isStaff }
    }
}
