import CSysShims
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif

/// The one way recsync starts another program: the event hook, `nmcli` and `mmcli`, the
/// background daemon, `fusermount3`. Always `posix_spawn` of an absolute path with an explicit
/// argument vector (never a shell), standard input from /dev/null, and no descriptor of ours
/// leaking into the child beyond the ones asked for (the queue, /dev/fuse and sockets are
/// opened by other threads; not all of them can be O_CLOEXEC in time).
public struct ChildProcess {
    /// Where a standard output stream of the child goes.
    public enum Destination: Sendable, Equatable {
        case null
        /// A descriptor of ours, dup'ed into the child.
        case descriptor(Int32)
    }

    /// The program's absolute path.
    public var executable: String
    /// The arguments after the program's name (`argv[1...]`).
    public var arguments: [String]
    /// The program's name as it sees it (`argv[0]`); nil: ``executable``.
    public var argv0: String?
    /// The whole environment; nil: ours. Values are written as their bytes (`NameCoding`).
    public var environment: [String: String]?
    public var standardOutput: Destination = .null
    public var standardError: Destination = .null
    /// More descriptors for the child: its descriptor number and ours.
    public var descriptors: [(child: Int32, parent: Int32)] = []
    /// In a session of its own (the daemon: no terminal's hang-up reaches it).
    public var newSession = false
    /// In a process group of its own (the hook: it can be stopped as a group).
    public var ownProcessGroup = false

    public init(executable: String, arguments: [String], environment: [String: String]? = nil) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
    }

    /// Starts the program.
    ///
    /// - Returns: its pid; wait for it with ``wait(_:)`` or `waitpid`.
    /// - Throws: ``ChildProcessError`` with the reason (`strerror` of posix_spawn's answer).
    public func spawn() throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        for (number, destination) in [(Int32(1), standardOutput), (Int32(2), standardError)] {
            switch destination {
            case .null: posix_spawn_file_actions_addopen(&actions, number, "/dev/null", O_WRONLY, 0)
            case let .descriptor(fd): posix_spawn_file_actions_adddup2(&actions, fd, number)
            }
        }
        for (child, parent) in descriptors { posix_spawn_file_actions_adddup2(&actions, parent, child) }
        let firstOther = (descriptors.map(\.child).max() ?? 2) + 1
        _ = Self.addCloseFrom?(&actions, firstOther)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // No signal blocked or ignored: the daemon blocks its stop signals (it takes them with
        // sigwait) and ignores SIGPIPE; a program it starts must not inherit that.
        var flags = Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        if newSession { flags |= Int32(recsync_POSIX_SPAWN_SETSID) }
        if ownProcessGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = ([argv0 ?? executable] + arguments).map { NameCoding.withCString($0) { strdup($0) } } + [nil]
        let envp = environment.map { variables in
            variables.map { entry in NameCoding.withCString("\(entry.key)=\(entry.value)") { strdup($0) } } + [nil]
        }
        defer {
            argv.forEach { free($0) }
            envp?.forEach { free($0) }
        }
        var pid: pid_t = 0
        // argv and envp are NUL-terminated arrays of strdup'ed strings (or environ) that stay
        // valid until the deferred frees, after posix_spawn has returned.
        let result = envp.map { posix_spawn(&pid, executable, &actions, &attributes, argv, $0) }
            ?? posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard result == 0 else { throw ChildProcessError("cannot run \(executable): \(String(cString: strerror(result)))") }
        return pid
    }

    /// Waits for `pid` to end; returns its wait status (see ``exitCode(_:)``).
    @discardableResult
    public static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status
    }

    /// The exit code in a wait status, or nil when the program was killed by a signal.
    public static func exitCode(_ status: Int32) -> Int32? {
        status & 0x7f == 0 ? (status >> 8) & 0xff : nil
    }

    /// Runs the program to its end, at most `timeout` seconds (then it is killed), and returns
    /// its exit code and what it wrote to standard output; standard error goes to /dev/null.
    public func capture(timeout: TimeInterval) throws -> (exitCode: Int32?, output: Data) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw ChildProcessError("cannot create a pipe: \(String(cString: strerror(errno)))") }
        // Close-on-exec, so that no other program started meanwhile holds the write end open.
        fds.forEach { _ = fcntl($0, F_SETFD, FD_CLOEXEC) }
        var child = self
        child.standardOutput = .descriptor(fds[1])
        let pid: pid_t
        do {
            pid = try child.spawn()
        } catch {
            close(fds[0])
            close(fds[1])
            throw error
        }
        close(fds[1])
        defer { close(fds[0]) }
        let deadline = Date().addingTimeInterval(timeout)
        var output = Data()
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        func stop() -> ChildProcessError {
            kill(pid, SIGKILL)
            Self.wait(pid)
            return ChildProcessError("\(executable) ran longer than \(Int(timeout)) s and was stopped")
        }
        while true {
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { throw stop() }
            var poller = pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(left, 60) * 1000) + 1)
            if ready < 0 && errno != EINTR { break }
            if ready <= 0 { continue }
            let count = read(fds[0], &buffer, buffer.count)
            if count > 0 {
                output.append(contentsOf: buffer[0..<count])
            } else if count == 0 || errno != EINTR {
                break
            }
        }
        // Its output is closed; it ends now, or is stopped at the deadline.
        var status: Int32 = 0
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid { break }
            if result < 0 && errno != EINTR { return (nil, output) }
            if deadline.timeIntervalSinceNow <= 0 { throw stop() }
            usleep(2_000)
        }
        return (Self.exitCode(status), output)
    }

    /// The absolute path of `program`: itself when it is absolute, else the first executable
    /// file of that name in the folders of `path` (a `PATH` value); nil when there is none.
    public static func find(_ program: String, path: String?) -> String? {
        if program.hasPrefix("/") { return isExecutableFile(program) ? program : nil }
        guard !program.contains("/") else { return nil }
        for directory in searchPath(path).split(separator: ":", omittingEmptySubsequences: true) where directory.hasPrefix("/") {
            let candidate = directory.hasSuffix("/") ? String(directory) + program : String(directory) + "/" + program
            if isExecutableFile(candidate) { return candidate }
        }
        return nil
    }

    /// `path` (a `PATH` value), or the usual folders when it is unset or empty.
    public static func searchPath(_ path: String?) -> String {
        path.flatMap { $0.isEmpty ? nil : $0 } ?? "/usr/local/bin:/usr/bin:/bin"
    }

    /// A regular file this process may execute.
    public static func isExecutableFile(_ path: String) -> Bool {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return false }
        return access(path, X_OK) == 0
    }

    /// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34 and later), which Swift's
    /// Glibc module does not import; nil on an older C library.
    private static let addCloseFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32)? = {
        guard let handle = dlopen(nil, RTLD_NOW),
              let symbol = dlsym(handle, "posix_spawn_file_actions_addclosefrom_np") else { return nil }
        // The symbol is the C function `int (posix_spawn_file_actions_t *, int)`.
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32).self)
    }()
}

/// A program that could not be started or did not finish in time.
public struct ChildProcessError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
