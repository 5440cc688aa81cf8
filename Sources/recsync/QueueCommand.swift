import ArgumentParser
import FoundationEssentials
import RecsyncCore
import RecsyncFS

/// `recsync queue`: what is left to upload, in the order the uploader will take it.
struct QueueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue",
        abstract: "List what is left to upload, in the order it will be uploaded.",
        discussion: """
        Uploads in flight first, then pending files by priority (10 critical, 8 high: closed in \
        the mount, 5 normal: found by a scan, 3 low: imported, 1 cleanup) and the time they were \
        queued, then files waiting for a retry, then failed files (which wait for 'recsync retry').
        """
    )

    @Argument(help: ArgumentHelp("A folder inside the recsync mount (default: the current folder).", valueName: "mountpoint"))
    var mountpoint: String = "."

    @Flag(help: "Print JSON for scripts: {\"files\": [...], \"summary\": {...}}.")
    var json = false

    func run() throws {
        let (client, _) = try ControlClient.forPath(mountpoint)
        var response = try client.send(ControlRequest(op: .queue))
        response.files = response.files?.map { file in
            var shown = file
            shown.path = NameCoding.display(file.path)
            return shown
        }
        if json {
            struct Listing: Encodable { let files: [FileStatus]; let summary: SyncSummary? }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(Listing(files: response.files ?? [], summary: response.summary)),
                         as: UTF8.self))
        } else {
            print(Self.render(response.files ?? [], summary: response.summary, mountpoint: client.mountpoint))
        }
    }

    static func render(_ files: [FileStatus], summary: SyncSummary?, mountpoint: String) -> String {
        let pad = StatusCommand.pad
        var lines = [pad("#", 6) + pad("STATUS", 8) + pad("PRIORITY", 9) + pad("ATTEMPTS", 9) + pad("WAITS UNTIL", 21) + "PATH"]
        for (index, file) in files.enumerated() {
            let position = file.status == "failed" ? "-" : String(index + 1)
            var line = pad(position, 6) + pad(file.status, 8) + pad(file.priority.map(String.init) ?? "-", 9)
                + pad(String(file.attempts), 9) + pad(file.retryAt ?? "-", 21) + file.path
            if let progress = file.progress { line += "  [\(progress)]" }
            if let error = file.error { line += "  error: \(error)" }
            lines.append(line)
        }
        var tail = files.isEmpty ? "nothing left to upload in \(mountpoint)" : "\(files.count) in the queue of \(mountpoint)"
        if let summary, summary.bytesWaiting > 0 {
            tail += "; \(StatusTable.bytes(summary.bytesWaiting)) waiting"
        }
        if let paused = summary?.paused { tail += "; uploads paused (\(paused))" }
        lines.append(tail)
        return lines.joined(separator: "\n")
    }
}
