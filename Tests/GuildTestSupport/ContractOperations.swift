import Foundation

/// The operations `openapi.yaml` documents, read from its `paths:` section line by line (the
/// file's own layout: a path at two spaces, its methods at four, `x-listener: private` at four
/// for a private listener's path). No YAML library: the tests need only these three facts.
public struct ContractOperations: Sendable {
    /// One documented path.
    public struct Path: Sendable, Equatable {
        /// `/api/booking/vms/{vm_id}`.
        public var path: String
        /// `GET`, `PATCH` …, in the file's order.
        public var methods: [String]
        /// True for a path of a service's private listener (`x-listener: private`).
        public var isPrivate: Bool
    }

    /// Every documented path, in the file's order.
    public let paths: [Path]

    /// Reads the contract at the repository's root.
    public init() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        try self.init(text: String(contentsOf: root.appendingPathComponent("openapi.yaml"), encoding: .utf8))
    }

    /// Reads the `paths:` section of `text`.
    public init(text: String) {
        let methods: Set<String> = ["get", "post", "put", "patch", "delete", "head", "options", "trace"]
        var paths: [Path] = []
        var inPaths = false
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" ") && !line.isEmpty && !line.hasPrefix("#") {
                inPaths = line == "paths:"
                continue
            }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), !line.hasPrefix("   "), line.hasSuffix(":") {
                paths.append(Path(path: String(line.dropFirst(2).dropLast()), methods: [], isPrivate: false))
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), !paths.isEmpty {
                let key = line.dropFirst(4)
                if key.hasSuffix(":"), methods.contains(String(key.dropLast())) {
                    paths[paths.count - 1].methods.append(key.dropLast().uppercased())
                } else if key.trimmingCharacters(in: .whitespaces) == "x-listener: private" {
                    paths[paths.count - 1].isPrivate = true
                }
            }
        }
        self.paths = paths
    }

    /// The documented path that is `path` (a trailing `/` aside).
    public func path(_ path: String) -> Path? {
        func bare(_ text: String) -> String { text.count > 1 && text.hasSuffix("/") ? String(text.dropLast()) : text }
        return paths.first { bare($0.path) == bare(path) }
    }
}
