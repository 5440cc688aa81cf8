import ArgumentParser
import FoundationEssentials
import RecsyncFS
import RecsyncCore
import RecsyncPrimitives
import Glibc

struct UnmountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unmount",
        abstract: "Unmount a recsync folder and wait until its background process has stopped.",
        discussion: """
        Files that programs still hold open for writing are served for up to shutdown_grace \
        seconds; those still open then are named, everything written to them is made durable, \
        and they are queued at the next mount. Uploads in flight get what is left of the grace \
        period; anything not uploaded stays queued for the next mount. A mount whose daemon \
        crashed is detached.
        """
    )

    @Argument(help: ArgumentHelp("The mounted folder.", valueName: "mountpoint"))
    var mountpoint: String

    @Option(help: ArgumentHelp("How long to wait for the background process to stop, in seconds.", valueName: "seconds"))
    var timeout: Double = 60

    @Flag(help: "First wait until nothing is pending or syncing (as 'recsync drain'), then unmount.")
    var wait = false

    func run() throws {
        let path = Paths.absolute(mountpoint)
        if DeadMount.isDead(path) {
            try DeadMount.clear(path)
            StandardStream.error("recsync: \(path) was left by a recsync that stopped without unmounting; detached it. Its queue picks up at the next mount.\n")
            return
        }
        guard let type = MountTable.mountType(at: path) else {
            throw CLIError.usage("\(path) is not mounted")
        }
        guard type.hasPrefix("fuse") else {
            throw CLIError.usage("\(path) is a \(type) mount, not recsync; use umount")
        }
        // With --wait: what will not upload by itself is reported after the unmount, with exit 1.
        var leftBehind: String?
        if wait {
            let outcome = try Waiter.waitUntilSettled([(ControlClient(mountpoint: path), [""])], stopWhenNothingCanUpload: true)
            leftBehind = outcome.problem(mountpoint: path)
        }
        try unmount(path)
        if let leftBehind {
            throw CLIError("unmounted; these stay queued for the next mount:\n\(leftBehind)")
        }
    }

    /// Asks the daemon to stop (or unmounts when it cannot be asked), then waits for it to end.
    private func unmount(_ path: String) throws {
        let runtimeFile = Paths.runtimeFile(for: path, environment: ProcessInfo.processInfo.environment)
        let pid = (try? String(contentsOfFile: runtimeFile, encoding: .utf8))
            .flatMap { pid_t($0.trimmingWhitespace()) }
        var waitLimit = timeout
        let client = ControlClient(mountpoint: path)
        if let info = try? client.send(ControlRequest(op: .info), timeout: 10) {
            // The daemon stops itself: it serves files still open for writing for its grace
            // period, then detaches the mount.
            let grace = Double(info.shutdownGrace ?? 10)
            waitLimit = max(timeout, grace + 30)
            do {
                let response = try client.send(ControlRequest(op: .stop), timeout: grace + 30)
                let stillOpen = response.stillOpen ?? []
                if !stillOpen.isEmpty {
                    let names = stillOpen.map { "  " + NameCoding.display($0) }.joined(separator: "\n")
                    StandardStream.error("""
                    recsync: \(stillOpen.count) file(s) were still open for writing after the \(Int(grace)) s grace period.
                    Everything written to them is on disk; they are queued at the next mount:
                    \(names)

                    """)
                }
            } catch {
                // A daemon that cannot take the request (an older version still running after an
                // upgrade): unmount as before.
                try Unmounter.unmount(path, lazy: false)
            }
        } else {
            try Unmounter.unmount(path, lazy: false)
        }
        guard let pid else { return }
        let deadline = Date().addingTimeInterval(waitLimit)
        while Self.isRunning(pid) {
            if Date() > deadline {
                throw CLIError("unmounted, but the background process \(pid) is still running after \(Int(waitLimit)) s")
            }
            usleep(50_000)
        }
    }

    /// Whether the process exists and has not exited (a zombie waiting for its parent counts as stopped).
    static func isRunning(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        let state = stat[stat.index(after: close)...].trimmingWhitespace().first
        return state != "Z" && state != "X"
    }
}
