import ArgumentParser
import FoundationEssentials
import RecsyncFS
import RecsyncCore

struct SyncNowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync-now",
        abstract: "Upload files now, before anything else and without waiting for a retry time.",
        discussion: """
        With no PATH, every pending file of the mount holding the current folder starts now. \
        The connection rules still hold (no uploads on mobile data or a metered connection unless \
        the config allows them); --force uploads the named files on this connection anyway, once.
        """
    )

    @Argument(help: ArgumentHelp("Files or folders inside a recsync mount.", valueName: "path"))
    var paths: [String] = []

    @Flag(help: "Wait until the files are synced (exit 1 if one fails).")
    var wait = false

    @Flag(help: "Upload even on mobile data or a metered connection (for these files, once).")
    var force = false

    func run() throws {
        let groups = try groupByMount(paths.isEmpty ? ["."] : paths)
        for (client, relatives) in groups {
            let response = try client.send(ControlRequest(op: .syncNow, paths: paths.isEmpty ? [] : relatives,
                                                          force: force ? true : nil))
            if let paused = response.paused {
                print("\(response.changed ?? 0) file(s) queued first in \(client.mountpoint); they wait: uploads are paused (\(paused))")
            } else if !wait {
                print("\(response.changed ?? 0) file(s) started in \(client.mountpoint)")
            }
        }
        if wait {
            let outcome = try Waiter.waitUntilSettled(groups.map { ($0.0, paths.isEmpty ? [""] : $0.1) })
            if !outcome.failed.isEmpty { throw CLIError("\(outcome.failed.count) file(s) failed; see 'recsync status'") }
        }
    }
}

struct RetryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Send failed files back to the queue with their attempts reset."
    )

    @Argument(help: ArgumentHelp("Failed files, or folders holding them (with --all-failed: the mount).", valueName: "path"))
    var paths: [String] = []

    @Flag(help: "Retry every failed file of the mount.")
    var allFailed = false

    func run() throws {
        if paths.isEmpty && !allFailed {
            throw CLIError.usage("name the failed files to retry, or use --all-failed")
        }
        for (client, relatives) in try groupByMount(paths.isEmpty ? ["."] : paths) {
            let response = try client.send(ControlRequest(op: .retry, paths: relatives, allFailed: allFailed))
            print("\(response.changed ?? 0) failed file(s) queued again in \(client.mountpoint)")
        }
    }
}

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Bring existing recordings in at LOW priority, behind new recordings.",
        discussion: """
        Files and folders inside a recsync mount are queued. Files and folders elsewhere are copied \
        into the folder given with --into (inside a mount) and queued; existing files are never overwritten.
        """
    )

    @Argument(help: ArgumentHelp("Files or folders to import.", valueName: "path"))
    var paths: [String]

    @Option(help: ArgumentHelp("A folder inside a recsync mount to copy outside files into.", valueName: "folder"))
    var into: String?

    func run() throws {
        var outside: [String] = []
        var inside: [String] = []
        for path in paths.map(Paths.absolute) {
            if MountTable.recsyncMount(containing: path) != nil { inside.append(path) } else { outside.append(path) }
            guard Paths.exists(path) else { throw CLIError.usage("\(NameCoding.display(path)) does not exist") }
        }
        if !outside.isEmpty && into == nil {
            throw CLIError.usage("\(outside[0]) is outside any recsync mount; say where to copy it with --into FOLDER")
        }
        for (client, relatives) in try groupByMount(inside) {
            let absolute = relatives.map { $0.isEmpty ? client.mountpoint : client.mountpoint + "/" + $0 }
            report(try client.send(ControlRequest(op: .import, paths: absolute)), client)
        }
        if let into, !outside.isEmpty {
            let (client, destination) = try ControlClient.forPath(into)
            report(try client.send(ControlRequest(op: .import, paths: outside, destination: destination)), client)
        }
    }

    private func report(_ response: ControlResponse, _ client: ControlClient) {
        print("\(response.copied ?? 0) copied, \(response.changed ?? 0) queued at LOW priority in \(client.mountpoint)")
        for skipped in response.skipped ?? [] { print("skipped (already there): \(NameCoding.display(skipped))") }
    }
}
