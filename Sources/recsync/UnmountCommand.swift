import ArgumentParser
import Foundation

struct UnmountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unmount",
        abstract: "Unmount a recsync folder and wait until its background process has stopped.",
        discussion: "Uploads in flight get a short time to finish; anything not uploaded stays queued for the next mount."
    )

    @Argument(help: ArgumentHelp("The mounted folder.", valueName: "mountpoint"))
    var mountpoint: String

    @Option(help: ArgumentHelp("How long to wait for the background process to stop, in seconds.", valueName: "seconds"))
    var timeout: Double = 60

    @Flag(help: "First wait until nothing is pending or syncing (as 'recsync drain'), then unmount.")
    var wait = false

    func run() throws {
        let path = Paths.absolute(mountpoint)
        guard let type = MountTable.mountType(at: path) else {
            exitWith(CLIError.usage("\(path) is not mounted"))
        }
        guard type.hasPrefix("fuse") else {
            exitWith(CLIError.usage("\(path) is a \(type) mount, not recsync; use umount"))
        }
        if wait {
            do {
                let failed = try Waiter.waitUntilSettled([(ControlClient(mountpoint: path), [""])])
                if failed > 0 {
                    FileHandle.standardError.write(Data("recsync: \(failed) file(s) failed and stay queued; see 'recsync status'\n".utf8))
                }
            } catch { exitWith(error) }
        }
        let runtimeFile = Paths.runtimeFile(for: path, environment: ProcessInfo.processInfo.environment)
        let pid = (try? String(contentsOfFile: runtimeFile, encoding: .utf8))
            .flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        do { try unmount(path) } catch { exitWith(error) }
        guard let pid else { return }
        let deadline = Date().addingTimeInterval(timeout)
        while Self.isRunning(pid) {
            if Date() > deadline {
                exitWith(CLIError("unmounted, but the background process \(pid) is still running after \(Int(timeout)) s"))
            }
            usleep(50_000)
        }
    }

    /// Whether the process exists and has not exited (a zombie waiting for its parent counts as stopped).
    static func isRunning(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }

    private func unmount(_ path: String) throws {
        if geteuid() == 0 {
            if umount2(path, 0) == 0 { return }
            let code = errno
            if code == EBUSY {
                throw CLIError("\(path) is busy: close the files and shells using it (see 'fuser -vm \(path)') and try again")
            }
            throw CLIError("cannot unmount \(path): \(String(cString: strerror(code)))")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/fusermount3")
        process.arguments = ["-u", path]
        do { try process.run() } catch {
            throw CLIError("cannot run fusermount3: \(error.localizedDescription); install the fuse3 package")
        }
        process.waitUntilExit()
        if process.terminationStatus != 0 {
            throw CLIError("fusermount3 could not unmount \(path) (is it busy? see 'fuser -vm \(path)')")
        }
    }
}
