/// A configuration value that stops start-up.
public enum ConfigurationError: Error, CustomStringConvertible, Equatable {
    /// A value production requires is not set.
    case missing(String)
    /// A value is set but unusable.
    case invalid(String, String)

    /// The message printed at start-up.
    public var description: String {
        switch self {
        case .missing(let name): "\(name) must be set in production (GUILDHALL_ENV=production)"
        case .invalid(let name, let reason): "\(name) is invalid: \(reason)"
        }
    }
}
