/// A user's role: what the user may do across every service.
public enum Role: String, Codable, Sendable, CaseIterable {
    /// Everything.
    case admin
    /// Tickets, reading users and stats.
    case moderator
    /// The user's own data.
    case user

    /// Staff are the people who answer tickets and read other users' data.
    public var isStaff: Bool { self == .admin || self == .moderator }
}
