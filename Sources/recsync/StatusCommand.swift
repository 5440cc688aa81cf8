import ArgumentParser
import Foundation
import RecsyncFS
import RecsyncCore

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show where files stand: status, attempts, next retry and last error.",
        discussion: "PATH may be files or folders inside recsync mounts (default: the current folder)."
    )

    @Argument(help: ArgumentHelp("Files or folders inside a recsync mount.", valueName: "path"))
    var paths: [String] = []

    @Flag(help: "Print JSON for scripts.")
    var json = false

    func run() throws {
        do {
            for (client, relatives) in try groupByMount(paths.isEmpty ? ["."] : paths) {
                var response = try client.send(ControlRequest(op: .status, paths: relatives))
                // Names as a terminal can show them, and a script can undo (`NameCoding.display`).
                response.files = response.files?.map { file in
                    var shown = file
                    shown.path = NameCoding.display(file.path)
                    return shown
                }
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
                    print(String(decoding: try encoder.encode(response), as: UTF8.self))
                } else {
                    print(Self.render(response, mountpoint: client.mountpoint))
                }
            }
        } catch { exitWith(error) }
    }

    static func render(_ response: ControlResponse, mountpoint: String) -> String {
        let files = response.files ?? []
        var lines = [pad("STATUS", 8) + pad("ATTEMPTS", 9) + pad("NEXT RETRY", 21) + "PATH"]
        for file in files {
            var line = pad(file.status, 8) + pad(String(file.attempts), 9) + pad(file.retryAt ?? "-", 21) + file.path
            if let progress = file.progress { line += "  [\(progress)]" }
            if let error = file.error { line += "  error: \(error)" }
            if let note = file.note { line += "  (\(note))" }
            lines.append(line)
        }
        var counts: [String: Int] = [:]
        for file in files { counts[file.status, default: 0] += 1 }
        let order = ["local", "pending", "syncing", "synced", "failed"]
        let summary = order.map { "\(counts[$0] ?? 0) \($0)" }.joined(separator: ", ")
        var tail = "\(files.count) file\(files.count == 1 ? "" : "s") in \(mountpoint): \(summary)"
        if let bytes = response.pendingBytes, bytes > 0 {
            tail += "; \(ByteCountFormatter.string(fromByteCount: bytes, countStyle: .file)) waiting to upload"
        }
        if let paused = response.paused { tail += "; uploads paused (\(paused))" }
        lines.append(tail)
        if let summary = response.summary {
            let all = order.map { "\(summary.counts[$0] ?? 0) \($0)" }.joined(separator: ", ")
            lines.append("mount: \(all); network: \(summary.network.summary)")
            if let notice = summary.notice { lines.append("note: \(notice)") }
        }
        return lines.joined(separator: "\n")
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}
