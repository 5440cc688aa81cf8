import ArgumentParser
import FoundationEssentials
import RecsyncS3
import RecsyncPrimitives

struct MountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mount",
        abstract: "Mount recsync over a folder and upload what is written into it.",
        discussion: """
        recsync mounts over MOUNTPOINT itself: the recordings stay plain files in that folder, \
        readable when recsync is stopped. Without --foreground the command returns once the mount \
        is live (exit 0) or has failed (non-zero, with the reason).

        """ + SettingsHelp.discussion
    )

    @Argument(help: ArgumentHelp("The folder to mount over.", valueName: "mountpoint"))
    var mountpoint: String

    @OptionGroup var options: MountOptions

    @Flag(help: "Stay in the foreground and log to standard error.")
    var foreground = false

    @Flag(help: "Check the folder, settings and credentials, then exit without mounting (mount -f).")
    var checkOnly = false

    /// Set by the starting process: the descriptor to report readiness on.
    @Option(help: .private)
    var readyFd: Int32?

    func run() throws {
        // The daemon takes its stop signals with sigwait; they are blocked before anything
        // (clearing a dead mount runs a helper program) can start a thread of its own.
        if foreground { StopSequence.blockStopSignals() }
        let plan: MountPlan
        do {
            // --check-only (mount -f) looks and leaves things as they are: a dead mount stays.
            plan = try MountPlan.resolve(mountpoint: mountpoint, options: options, for: checkOnly ? .check : .mount)
        } catch {
            if let readyFd { ReadyPipe.report(fd: readyFd, error: "\(error)") }
            throw error
        }
        if checkOnly {
            print("recsync: \(plan.mountpoint) can be mounted: bucket \(plan.config.bucket ?? ""), state folder \(plan.stateDirectory)")
            return
        }
        // Said where the person mounting sees it (the daemon's log says it too).
        if readyFd == nil {
            for warning in CredentialsLoader.exposureWarnings(environment: plan.environment,
                                                              homeDirectory: Paths.home(plan.environment)) {
                StandardStream.error("recsync: warning: \(warning)\n")
            }
        }
        if foreground {
            do {
                try Daemon(plan: plan, readyFd: readyFd).run()
            } catch {
                if let readyFd { ReadyPipe.report(fd: readyFd, error: "\(error)") }
                throw error
            }
        } else {
            try DaemonLauncher.start(plan: plan, arguments: ["mount", plan.mountpoint] + options.arguments)
        }
    }
}
