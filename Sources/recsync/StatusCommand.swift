import ArgumentParser
import FoundationEssentials
import RecsyncFS
import RecsyncCore
import RecsyncPrimitives
import Glibc

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show where files stand: status, size, progress, attempts, next retry and last error.",
        discussion: """
        PATH may be files or folders inside recsync mounts (default: the current folder). The \
        table ends with the mount's summary: counts by status, bytes waiting, the network and why \
        uploads are paused. Icons: synced ☁️, syncing 🔄, failed ⚠️, pending 📤, local 🗂️ (not with \
        --no-icons, or when NO_COLOR is set). --watch redraws every second with each upload's rate \
        and time left; when standard output is not a terminal it prints one line per change instead.
        """
    )

    @Argument(help: ArgumentHelp("Files or folders inside a recsync mount.", valueName: "path"))
    var paths: [String] = []

    @Flag(help: "Print JSON for scripts (the files, and the mount's summary under \"summary\").")
    var json = false

    @Flag(help: "Keep watching: redraw every second (one line per change when not on a terminal).")
    var watch = false

    @Flag(help: "Show statuses as words only.")
    var noIcons = false

    func validate() throws {
        if json && watch { throw ValidationError("--json and --watch cannot be combined; use 'recsync events --follow' for a stream") }
    }

    func run() throws {
        let icons = !noIcons && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
        if watch { return try StatusWatch(paths: paths.isEmpty ? ["."] : paths, icons: icons).run() }
        for (client, response) in try Self.fetch(paths.isEmpty ? ["."] : paths) {
            if json {
                print(try StatusJSON(mountpoint: NameCoding.display(client.mountpoint), response: response).line())
            } else {
                print(StatusTable(icons: icons).render(response, mountpoint: client.mountpoint))
            }
        }
    }

    /// The status of `paths`, one answer per mount, names as a terminal can show them and a
    /// script can undo (`NameCoding.display`).
    static func fetch(_ paths: [String]) throws -> [(ControlClient, ControlResponse)] {
        try groupByMount(paths).map { client, relatives in
            var response = try client.send(ControlRequest(op: .status, paths: relatives))
            response.files = response.files?.map { file in
                var shown = file
                shown.path = NameCoding.display(file.path)
                return shown
            }
            return (client, response)
        }
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
    }
}

/// The table `recsync status` prints.
struct StatusTable {
    let icons: Bool
    static let order = ["local", "pending", "syncing", "synced", "failed"]
    static let iconByStatus = ["synced": "☁️", "syncing": "🔄", "failed": "⚠️", "pending": "📤", "local": "🗂️"]

    func label(_ status: String) -> String {
        icons ? (Self.iconByStatus[status].map { "\($0) " } ?? "") + status : status
    }

    static func bytes(_ count: Int64) -> String { NumberText.byteCount(count) }

    /// `[#####-----]  48%` from a file's progress.
    static func bar(_ progress: (sent: Int64, total: Int64)?, width: Int = 12) -> String {
        guard let progress, progress.total > 0 else { return "" }
        let fraction = min(1, max(0, Double(progress.sent) / Double(progress.total)))
        let filled = Int((fraction * Double(width)).rounded(.down))
        return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] "
            + NumberText.padded(Int(fraction * 100), width: 3, pad: " ") + "%"
    }

    func render(_ response: ControlResponse, mountpoint: String, rates: [String: String] = [:]) -> String {
        let pad = StatusCommand.pad
        let files = response.files ?? []
        let statusWidth = icons ? 11 : 8
        var lines = [pad("STATUS", statusWidth) + pad("SIZE", 10) + pad("PROGRESS", 20) + pad("ATTEMPTS", 9)
                     + pad("NEXT RETRY", 21) + "PATH"]
        for file in files {
            var line = pad(label(file.status), statusWidth) + pad(file.size.map(Self.bytes) ?? "-", 10)
                + pad(Self.bar(file.progressBytes), 20) + pad(String(file.attempts), 9) + pad(file.retryAt ?? "-", 21) + file.path
            if let rate = rates[file.path] { line += "  \(rate)" }
            if let error = file.error { line += "  error: \(error)" }
            if let note = file.note { line += "  (\(note))" }
            lines.append(line)
        }
        var counts: [String: Int] = [:]
        for file in files { counts[file.status, default: 0] += 1 }
        let shown = Self.order.compactMap { name in counts[name].map { "\($0) \(name)" } }
        lines.append("\(files.count) file\(files.count == 1 ? "" : "s") in \(mountpoint)"
                     + (shown.isEmpty ? "" : ": " + shown.joined(separator: ", ")))
        if let summary = response.summary {
            var mount = "mount: " + Self.order.map { "\(summary.counts[$0] ?? 0) \($0)" }.joined(separator: ", ")
            if summary.bytesWaiting > 0 { mount += "; \(Self.bytes(summary.bytesWaiting)) waiting to upload" }
            mount += "; network: \(summary.network.summary)"
            if let paused = summary.pausedDetail ?? summary.paused { mount += "; uploads paused (\(paused))" }
            lines.append(mount)
            if let notice = summary.notice { lines.append("note: \(notice)") }
        } else if let paused = response.paused {
            lines.append("uploads paused (\(paused))")
        }
        return lines.joined(separator: "\n")
    }
}

/// `recsync status --watch`: a live table on a terminal, one line per change otherwise.
struct StatusWatch {
    let paths: [String]
    let icons: Bool

    func run() throws {
        let terminal = isatty(STDOUT_FILENO) == 1
        var previous: [String: (status: String, sent: Double, at: Date)] = [:]
        var lastSeen: [String: String] = [:]
        // Written straight away, not buffered: a reader of a pipe sees each change as it comes.
        func emit(_ text: String) { StandardStream.output(text + "\n") }
        while true {
            let now = Date()
            var screen: [String] = []
            for (client, response) in try StatusCommand.fetch(paths) {
                var rates: [String: String] = [:]
                for file in response.files ?? [] {
                    let progress = file.progressBytes.map { (sent: Double($0.sent), total: Double($0.total)) }
                    if let progress, let before = previous[file.path], before.status == "syncing", file.status == "syncing" {
                        let rate = (progress.sent - before.sent) / max(0.001, now.timeIntervalSince(before.at))
                        if rate > 0 {
                            let left = Int(((progress.total - progress.sent) / rate).rounded(.up))
                            rates[file.path] = "\(StatusTable.bytes(Int64(rate)))/s, \(left / 60)m\(NumberText.padded(left % 60, width: 2))s left"
                        }
                    }
                    previous[file.path] = (file.status, progress?.sent ?? 0, now)
                    if !terminal {
                        let shown = file.status + (file.error.map { "  error: \($0)" } ?? "")
                        if lastSeen[file.path] != shown {
                            lastSeen[file.path] = shown
                            emit("\(CivilTime.utc(now).iso8601UTC)  \(StatusTable(icons: icons).label(file.status))  \(file.path)"
                                 + (file.error.map { "  error: \($0)" } ?? ""))
                        }
                    }
                }
                screen.append(StatusTable(icons: icons).render(response, mountpoint: client.mountpoint, rates: rates))
            }
            if terminal { emit("\u{1B}[H\u{1B}[2J" + screen.joined(separator: "\n\n")) }
            WorkerThread.sleep(forTimeInterval: 1)
        }
    }
}

/// What `recsync status --json` prints: one JSON object per mount, each on one line. The schema
/// is documented in docs/OPERATIONS.md ("recsync status --json") and pinned by StatusCommandTests.
struct StatusJSON: Encodable {
    struct File: Encodable {
        struct Progress: Encodable {
            var sent: Int64
            var total: Int64
        }

        var path: String
        var status: String
        var size: Int64?
        var attempts: Int
        var priority: Int?
        var retryAt: String?
        var error: String?
        var key: String?
        var progress: Progress?
        var note: String?

        enum CodingKeys: String, CodingKey {
            case path, status, size, attempts, priority, error, key, progress, note
            case retryAt = "retry_at"
        }

        // Every key is written, null when there is no value, so scripts can rely on the shape.
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(path, forKey: .path)
            try container.encode(status, forKey: .status)
            try container.encode(size, forKey: .size)
            try container.encode(attempts, forKey: .attempts)
            try container.encode(priority, forKey: .priority)
            try container.encode(retryAt, forKey: .retryAt)
            try container.encode(error, forKey: .error)
            try container.encode(key, forKey: .key)
            try container.encode(progress, forKey: .progress)
            try container.encode(note, forKey: .note)
        }
    }

    var mountpoint: String
    var files: [File]
    var summary: SyncSummary?

    init(mountpoint: String, response: ControlResponse) {
        self.mountpoint = mountpoint
        summary = response.summary
        files = (response.files ?? []).map { file in
            File(path: file.path, status: file.status, size: file.size, attempts: file.attempts, priority: file.priority,
                 retryAt: file.retryAt, error: file.error, key: file.key,
                 progress: file.progressBytes.map { File.Progress(sent: $0.sent, total: $0.total) }, note: file.note)
        }
    }

    func line() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
