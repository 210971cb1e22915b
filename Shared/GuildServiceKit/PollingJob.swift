import Logging

/// The loop of a background job that looks for work: `step` runs until the task is cancelled,
/// again at once when it returns true (more work may be waiting), otherwise after `interval`. An
/// error is logged as `waiting` (`"idle tickets wait for the database"`) and the job goes on
/// after `interval`: a dependency that is away stops the job's work, never the job.
public func pollForWork(every interval: Duration, logger: Logger, waiting: String, _ step: () async throws -> Bool) async {
    while !Task.isCancelled {
        do {
            if try await step() { continue }
        } catch {
            if Task.isCancelled { return }
            logger.warning("\(waiting)", metadata: ["error": "\(error)"])
        }
        try? await Task.sleep(for: interval)
    }
}
