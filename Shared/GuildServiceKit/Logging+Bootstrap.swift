import Foundation
import Logging

/// Process-wide logging set-up.
public enum GuildLogging {
    private static let bootstrapped = LockedFlag()

    /// Bootstraps swift-log once: plain text, or one JSON object per line with `LOG_FORMAT=json`.
    ///
    /// The handler formats metadata only when it writes a line. Every request sets metadata on
    /// its logger (the request id, the user), so a handler that formats on every change (as
    /// swift-log's `StreamLogHandler` does) would cost each request that work even when nothing
    /// is logged.
    public static func bootstrap(format: String, level: Logger.Level) {
        guard bootstrapped.setOnce() else { return }
        LoggingSystem.bootstrap { label in
            var handler = GuildLogHandler(label: label, format: format == "json" ? .json : .text)
            handler.logLevel = level
            return handler
        }
    }
}

/// Writes one line per event to standard error (through ``LogWriter``, so logging never waits for
/// the reader of standard error), as text (`time level label: message key=value …`)
/// or as one JSON object (time, level, label, message and metadata).
public struct GuildLogHandler: LogHandler {
    /// How a line is written.
    public enum Format: Sendable {
        /// `time level label: message key=value …`
        case text
        /// One JSON object per line.
        case json
    }

    /// The logger's label.
    public let label: String
    /// How lines are written.
    public let format: Format
    /// Minimum level.
    public var logLevel: Logger.Level = .info
    /// Metadata attached to every line.
    public var metadata: Logger.Metadata = [:]

    /// Creates the handler.
    public init(label: String, format: Format) {
        self.label = label
        self.format = format
    }

    /// Metadata by key.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes one line.
    public func log(event: LogEvent) {
        let fields = event.metadata.map { metadata.merging($0, uniquingKeysWith: { $1 }) } ?? metadata
        let time = Date().formatted(.iso8601)
        var line: Data
        switch format {
        case .text:
            var text = "\(time) \(event.level) \(label): \(event.message)"
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) { text += " \(key)=\(value)" }
            line = Data(text.utf8)
        case .json:
            var object = fields.mapValues { "\($0)" }
            object["time"] = time
            object["level"] = event.level.rawValue
            object["label"] = label
            object["message"] = "\(event.message)"
            guard let encoded = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return }
            line = encoded
        }
        line.append(0x0A)
        if event.level == .critical {
            LogWriter.standardError.writeNow(line)
        } else {
            LogWriter.standardError.write(line)
        }
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
