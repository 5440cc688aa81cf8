import ArgumentParser
import Foundation
import RecsyncCore

struct DrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        abstract: "Wait until nothing is pending or syncing, showing what is left.",
        discussion: "Failed files do not block the wait; they are listed at the end (exit 1)."
    )

    @Argument(help: ArgumentHelp("The mounted folder.", valueName: "mountpoint"))
    var mountpoint: String

    func run() throws {
        do {
            let (client, _) = try ControlClient.forPath(mountpoint)
            let failed = try Waiter.waitUntilSettled([(client, [""])])
            if failed > 0 { throw CLIError("\(failed) file(s) failed; see 'recsync status \(client.mountpoint)'") }
        } catch { exitWith(error) }
    }
}

/// Polls the daemon until the given files are neither pending nor syncing.
enum Waiter {
    /// Returns how many files ended failed.
    static func waitUntilSettled(_ groups: [(ControlClient, [String])], interval: TimeInterval = 0.2) throws -> Int {
        var lastLine = ""
        while true {
            var waiting = 0
            var failed = 0
            var bytes: Int64 = 0
            var paused: String?
            for (client, relatives) in groups {
                let response = try client.send(ControlRequest(op: .status, paths: relatives))
                let files = response.files ?? []
                waiting += files.filter { $0.status == "pending" || $0.status == "syncing" }.count
                failed += files.filter { $0.status == "failed" }.count
                bytes += response.pendingBytes ?? 0
                paused = paused ?? response.paused
            }
            if waiting == 0 { return failed }
            var line = "waiting for \(waiting) file(s), \(ByteCountFormatter.string(fromByteCount: bytes, countStyle: .file)) left"
            if let paused { line += " (paused: \(paused))" }
            if line != lastLine {
                FileHandle.standardError.write(Data((line + "\n").utf8))
                lastLine = line
            }
            Thread.sleep(forTimeInterval: interval)
        }
    }
}
