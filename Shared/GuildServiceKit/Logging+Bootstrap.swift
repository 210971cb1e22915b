import Foundation
import Logging

/// Process-wide logging set-up.
public enum GuildLogging {
    private static let bootstrapped = LockedFlag()

    /// Bootstraps swift-log once: plain text, or one JSON object per line with `LOG_FORMAT=json`.
    ///
    /// Both handlers format metadata only when they write a line. Every request sets metadata on
    /// its logger (the request id, the user), so a handler that formats on every change (as
    /// swift-log's `StreamLogHandler` does) would cost each request that work even when nothing
    /// is logged.
    public static func bootstrap(format: String, level: Logger.Level) {
        guard bootstrapped.setOnce() else { return }
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = format == "json" ? JSONLogHandler(label: label) : TextLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// Writes one line of text per event to standard error: `time level label: message key=value …`.
public struct TextLogHandler: LogHandler {
    /// The logger's label.
    public let label: String
    /// Minimum level.
    public var logLevel: Logger.Level = .info
    /// Metadata attached to every line.
    public var metadata: Logger.Metadata = [:]

    /// Creates the handler.
    public init(label: String) { self.label = label }

    /// Metadata by key.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes one line.
    public func log(event: LogEvent) {
        var line = "\(Date().formatted(.iso8601)) \(event.level) \(label): \(event.message)"
        let fields = event.metadata.map { metadata.merging($0, uniquingKeysWith: { $1 }) } ?? metadata
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) { line += " \(key)=\(value)" }
        line += "\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}

/// Writes one JSON object per line to standard error: time, level, label, message and metadata.
public struct JSONLogHandler: LogHandler {
    /// The logger's label.
    public let label: String
    /// Minimum level.
    public var logLevel: Logger.Level = .info
    /// Metadata attached to every line.
    public var metadata: Logger.Metadata = [:]

    /// Creates the handler.
    public init(label: String) { self.label = label }

    /// Metadata by key.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes one line.
    public func log(event: LogEvent) {
        var fields: [String: String] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { fields[key] = "\(value)" }
        fields["time"] = Date().formatted(.iso8601)
        fields["level"] = event.level.rawValue
        fields["label"] = label
        fields["message"] = "\(event.message)"
        guard var line = try? JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]) else { return }
        line.append(0x0A)
        FileHandle.standardError.write(line)
    }
}

/// A flag that can be set once, from any thread.
final class LockedFlag: Sendable {
    private let state = Mutex(false)

    /// Sets the flag; true only for the first caller.
    func setOnce() -> Bool {
        state.withLock { isSet in
            defer { isSet = true }
            return !isSet
        }
    }
}

import Synchronization
