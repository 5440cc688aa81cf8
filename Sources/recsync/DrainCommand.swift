import ArgumentParser
import FoundationEssentials
import RecsyncFS
import RecsyncCore
import RecsyncPrimitives

struct DrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "Wait until nothing is pending or syncing, showing what is left.",
        discussion: """
        Failed files do not block the wait. At the end, files that failed and files that will \
        never upload by themselves (no key can be made for them, or auto_sync is off) are listed \
        and the exit status is 1.
        """
    )

    @Argument(help: ArgumentHelp("The mounted folder.", valueName: "mountpoint"))
    var mountpoint: String

    func run() throws {
        let (client, _) = try ControlClient.forPath(mountpoint)
        let outcome = try Waiter.waitUntilSettled([(client, [""])], stopWhenNothingCanUpload: true)
        if let problem = outcome.problem(mountpoint: client.mountpoint) { throw CLIError(problem) }
    }
}

/// How a wait for uploads ended.
struct WaitOutcome {
    /// Files that ended `failed`.
    var failed: [String] = []
    /// Files that will never upload by themselves (no key can be made for them, say), with why.
    var stuck: [(path: String, reason: String)] = []
    /// Set when files still wait but nothing uploads by itself (auto sync is off).
    var pausedForGood: String?
    var waiting = 0

    /// What to tell the user when the wait did not end with everything uploaded; nil when it did.
    func problem(mountpoint: String) -> String? {
        var lines: [String] = []
        if !stuck.isEmpty {
            lines.append("\(stuck.count) file(s) will never upload by themselves:")
            lines += stuck.map { "  \($0.path): \($0.reason)" }
        }
        if !failed.isEmpty {
            lines.append("\(failed.count) file(s) failed; fix the cause and run 'recsync retry': \(failed.map(NameCoding.display).joined(separator: ", "))")
        }
        if let pausedForGood {
            lines.append("\(waiting) file(s) wait, but nothing uploads by itself: \(pausedForGood)")
        }
        guard !lines.isEmpty else { return nil }
        lines.append("see 'recsync status \(mountpoint)'")
        return lines.joined(separator: "\n")
    }
}

/// Polls the daemon until the given files are neither pending nor syncing.
enum Waiter {
    /// Waits until no file is pending or syncing. With `stopWhenNothingCanUpload`, also stops
    /// when the files still waiting cannot upload by themselves (auto sync is off).
    static func waitUntilSettled(_ groups: [(ControlClient, [String])], interval: TimeInterval = 0.2,
                                 stopWhenNothingCanUpload: Bool = false) throws -> WaitOutcome {
        var lastLine = ""
        while true {
            var outcome = WaitOutcome()
            var bytes: Int64 = 0
            var paused: String?
            for (client, relatives) in groups {
                let response = try client.send(ControlRequest(op: .status, paths: relatives))
                let files = response.files ?? []
                outcome.waiting += files.filter { $0.status == "pending" || $0.status == "syncing" }.count
                outcome.failed += files.filter { $0.status == "failed" }.map(\.path)
                outcome.stuck += files.compactMap { file in
                    guard file.status == "local", let error = file.error, !error.isEmpty else { return nil }
                    return (file.path, error)
                }
                bytes += response.pendingBytes ?? 0
                paused = paused ?? response.paused
            }
            if outcome.waiting == 0 { return outcome }
            if stopWhenNothingCanUpload, let paused, paused.hasPrefix("auto sync is off") {
                outcome.pausedForGood = "auto_sync is off; upload them with 'recsync sync-now', or turn auto_sync on"
                return outcome
            }
            var line = "waiting for \(outcome.waiting) file(s), \(NumberText.byteCount(bytes)) left"
            if let paused { line += " (paused: \(paused))" }
            if line != lastLine {
                StandardStream.error(line + "\n")
                lastLine = line
            }
            WorkerThread.sleep(forTimeInterval: interval)
        }
    }
}
