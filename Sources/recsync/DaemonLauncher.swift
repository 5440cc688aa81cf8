import CSysShims
import FoundationEssentials
import RecsyncFS
import Glibc

/// Starts the background process (`recsync mount ... --foreground --ready-fd 3`) in its own
/// session with its output going to the log in the state folder, and waits until it reports
/// that the mount is live. Credentials reach it through the inherited environment, never argv.
enum DaemonLauncher {
    static let readyTimeout: TimeInterval = 120

    static func start(plan: MountPlan, arguments: [String]) throws {
        try Paths.makeDirectory(plan.stateDirectory)
        let logPath = plan.stateDirectory + "/recsync.log"
        let logFd = open(logPath, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | recsync_O_NOFOLLOW, 0o600)
        guard logFd >= 0 else {
            throw CLIError("cannot open the log \(logPath): \(String(cString: strerror(errno)))")
        }
        defer { close(logFd) }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw CLIError("cannot create a pipe: \(String(cString: strerror(errno)))") }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)

        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var child = ChildProcess(executable: executable, arguments: arguments + ["--foreground", "--ready-fd", "3"])
        child.standardOutput = .descriptor(logFd)
        child.standardError = .descriptor(logFd)
        child.descriptors = [(child: 3, parent: writeEnd)]
        child.newSession = true
        let pid: pid_t
        do {
            pid = try child.spawn()
        } catch {
            close(writeEnd)
            close(readEnd)
            throw CLIError("cannot start the background process: \(error)")
        }
        close(writeEnd)
        defer { close(readEnd) }
        let line = ReadyPipe.read(fd: readEnd, timeout: readyTimeout)
        if line == "READY" { return }
        if let line, line.hasPrefix("ERROR ") {
            throw CLIError(String(line.dropFirst(6)))
        }
        kill(pid, SIGTERM)
        throw CLIError("the background process stopped before the mount was live; see \(logPath)")
    }
}
