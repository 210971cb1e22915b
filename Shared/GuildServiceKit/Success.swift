import Hummingbird

/// `{"success": true}`: the answer of an action that has nothing else to say (the contract's `Success`).
public struct Success: ResponseEncodable, Sendable {
    /// Always true: a failure is an error answer, never `false` here.
    public var success = true

    /// The one answer.
    public init() {}
}
