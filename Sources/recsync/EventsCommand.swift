import ArgumentParser
import FoundationEssentials
import RecsyncCore
import RecsyncPrimitives

/// `recsync events`: what happened to the files of a mount, from its event log.
struct EventsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Show the sync events of a recsync folder: status changes, uploads and failures.",
        discussion: """
        Events are read from events.jsonl in the mount's state directory (and the rotated \
        events.jsonl.1 before it). Each line shows the time (UTC), the event, the new status, \
        the file and its S3 key.
        """
    )

    @Argument(help: ArgumentHelp("The recsync folder (default: the current directory).", valueName: "mountpoint"))
    var mountpoint: String?

    @Flag(name: .shortAndLong, help: "Keep running and show new events as they happen.")
    var follow = false

    @Option(help: ArgumentHelp("The state directory the folder was mounted with, if not the default.", valueName: "dir"))
    var stateDir: String?

    @Flag(help: "Print the raw JSON lines.")
    var json = false

    func run() throws {
        let path = try Self.eventLogPath(mountpoint: mountpoint, stateDir: stateDir)
        guard FileManager.default.fileExists(atPath: path) else {
            throw CLIError.usage("no event log at \(path); mount the folder with 'recsync mount' first, or pass --state-dir with the directory it was mounted with")
        }
        let reader = EventReader(path: path)
        let show: (String) -> Void = { line in
            StandardStream.output((json ? line : Self.readable(line)) + "\n")
        }
        if follow {
            try reader.follow(includeRotated: true, show)
        } else {
            try reader.lines(includeRotated: true).forEach(show)
        }
    }

    /// `<state dir>/events.jsonl`, the state directory found as `recsync mount` finds it:
    /// `--state-dir`, else `state_dir` from the config file, else the default for the mountpoint.
    static func eventLogPath(mountpoint: String?, stateDir: String?,
                             environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        let directory: String
        if let stateDir {
            directory = Paths.absolute(stateDir)
        } else {
            let given = mountpoint ?? FileManager.default.currentDirectoryPath
            guard FileManager.default.fileExists(atPath: Paths.absolute(given)) else {
                throw CLIError.usage("\(Paths.absolute(given)) does not exist; give the folder recsync is mounted on, or --state-dir")
            }
            let folder = try Paths.existingDirectory(given)
            let configured = RecsyncConfig.defaultPath(environment: environment)
                .flatMap { try? RecsyncConfig.load(path: $0) }?.stateDir
            directory = configured.map { Paths.absolute($0) }
                ?? Paths.defaultStateDirectory(for: folder, environment: environment)
        }
        return directory + "/" + EventLog.fileName
    }

    /// `2026-11-25T14:03:07.123Z  syncSuccess  synced   take1.wav  anonymous/2026/11/take1.wav`,
    /// then what else the event says (the previous status, the error); a line that is not an
    /// event is shown as it is.
    static func readable(_ line: String) -> String {
        guard let event = try? SyncEvent.decode(line: line) else { return line }
        let status = event.status.rawValue
        var fields = [
            EventTime.format(event.time),
            event.type.rawValue,
            status + String(repeating: " ", count: max(0, 7 - status.count)),
            event.path,
            event.key ?? "-",
        ]
        switch event.type {
        case .statusChange:
            if let previous = event.previous { fields.append("(was \(previous.rawValue))") }
        case .syncSuccess:
            if let bytes = event.bytes { fields.append("\(bytes) bytes") }
        case .syncFailure:
            fields.append("attempt \(event.attempts)" + (event.error.map { ": \($0)" } ?? ""))
        }
        return fields.joined(separator: "  ")
    }
}
