import ArgumentParser
import Configuration
import Foundation
import GuildCore
import GuildPostgres
import GuildServiceKit
import LevelingService
import Logging

extension GuildCtl {
    /// `guildctl tools export|import`: leveling's tool catalogue as one JSON file.
    struct Tools: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export or import leveling's tool catalogue as JSON ({\"tools\": [{id, name, description, unlock_level, active}]}).",
            subcommands: [Export.self, Import.self]
        )

        /// The file's shape: the same as `GET /api/leveling/tools` answers.
        struct File: Codable {
            var tools: [Tool]
        }

        /// Runs `body` with the catalogue of the leveling schema, its unlock levels bounded by the
        /// environment's `LEVELING_MAX_LEVEL` as the service reads it.
        static func catalogue<T: Sendable>(_ database: DatabaseOptions, _ body: @escaping @Sendable (ToolCatalogue, Logger) async throws -> T) async throws -> T {
            let reader = ConfigReader(provider: EnvironmentVariablesProvider())
            return try await database.withClient(schema: ServiceDescriptor.leveling.schema) { client, logger in
                try await ServiceDescriptor.leveling.migrations.run(on: client, logger: logger)
                return try await body(try ToolCatalogue(database: Database(source: client), configuration: reader), logger)
            }
        }

        /// `guildctl tools export [--output FILE]`.
        struct Export: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Write every tool, retired ones too, to a file (default: standard output).")

            @OptionGroup var database: DatabaseOptions
            @Option(name: .shortAndLong, help: "The file to write.") var output: String?

            func run() async throws {
                let file = File(tools: try await Tools.catalogue(database) { catalogue, logger in try await catalogue.export(logger: logger) })
                let encoder = JSONEncoder()
                encoder.keyEncodingStrategy = .convertToSnakeCase
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                let data = try encoder.encode(file) + Data("\n".utf8)
                if let output {
                    try data.write(to: URL(fileURLWithPath: output), options: .atomic)
                    print("exported \(file.tools.count) tools to \(output)")
                } else {
                    FileHandle.standardOutput.write(data)
                }
            }
        }

        /// `guildctl tools import FILE`.
        struct Import: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create the tools a file names and change those that differ, all or nothing; tools it does not name stay as they are."
            )

            @OptionGroup var database: DatabaseOptions
            @Argument(help: "The catalogue file (what export writes).") var file: String

            func run() async throws {
                let tools: [Tool]
                do {
                    tools = try GuildJSON.decoder.decode(File.self, from: try Data(contentsOf: URL(fileURLWithPath: file))).tools
                } catch let error as DecodingError {
                    throw ValidationError("\(file) is not a tool catalogue: \(APIError(decoding: error).message)")
                } catch {
                    throw ValidationError("cannot read \(file): \(error.localizedDescription)")
                }
                do {
                    let summary = try await Tools.catalogue(database) { catalogue, logger in try await catalogue.importing(tools, logger: logger) }
                    print("imported \(file): \(summary.created) created, \(summary.updated) changed, \(summary.unchanged) unchanged")
                } catch let error as APIError {
                    throw ValidationError("\(file): \(error.message); nothing was changed")
                }
            }
        }
    }
}
