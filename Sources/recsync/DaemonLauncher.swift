import CSysShims
import Foundation

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

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, logFd, 1)
        posix_spawn_file_actions_adddup2(&actions, logFd, 2)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 3)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, recsync_POSIX_SPAWN_SETSID)

        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let argv = [executable] + arguments + ["--foreground", "--ready-fd", "3"]
        let cArgs = argv.map { strdup($0) } + [nil]
        defer { cArgs.forEach { free($0) } }
        var pid: pid_t = 0
        // Safe: cArgs and environ stay valid for the duration of the call.
        let status = posix_spawn(&pid, executable, &actions, &attributes, cArgs, environ)
        close(writeEnd)
        defer { close(readEnd) }
        guard status == 0 else {
            throw CLIError("cannot start the background process: \(String(cString: strerror(status)))")
        }
        let line = ReadyPipe.read(fd: readEnd, timeout: readyTimeout)
        if line == "READY" { return }
        if let line, line.hasPrefix("ERROR ") {
            throw CLIError(String(line.dropFirst(6)))
        }
        kill(pid, SIGTERM)
        throw CLIError("the background process stopped before the mount was live; see \(logPath)")
    }
}
