import FoundationEssentials
import RecsyncFS
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// A program run once per ``SyncEvent``, such as a notifier or a script that
/// moves uploaded recordings elsewhere.
///
/// The program is started directly with `posix_spawn`, never through a shell:
/// the argument vector is passed as it is and event values travel only in
/// environment variables, so spaces, quotes or `$(...)` in file names are
/// never interpreted. The hook gets:
///
/// - standard input from `/dev/null`; standard output and error to the
///   daemon's standard error (its log) or to `/dev/null`, see ``Output``;
/// - the daemon's environment without any `AWS_*` variable, so credentials
///   never reach a hook, plus `RECSYNC_EVENT`, `RECSYNC_PATH`, `RECSYNC_KEY`,
///   `RECSYNC_STATUS`, `RECSYNC_PREVIOUS_STATUS`, `RECSYNC_ERROR`,
///   `RECSYNC_ATTEMPTS`, `RECSYNC_BYTES`, `RECSYNC_TIME` and
///   `RECSYNC_MOUNTPOINT` (empty when the event has no such value);
/// - its own process group, default signal dispositions and an empty signal
///   mask, and no open descriptors beyond 0, 1 and 2.
///
/// A hook running longer than ``timeout`` gets SIGTERM, and SIGKILL
/// ``killGrace`` later; both go to its whole process group. Children are
/// reaped with `waitpid`.
///
/// Immutable, so `Sendable`; ``run(_:logger:isCancelled:)`` may be called from
/// any thread (``EventLog`` calls it from one background queue).
public struct EventHook: Sendable {
    /// Where the hook's standard output and standard error go.
    public enum Output: Sendable, Equatable {
        /// `/dev/null`.
        case discard
        /// The daemon's own standard error, which is its log.
        case standardError
    }

    /// How a hook run ended.
    public enum Outcome: Sendable, Equatable {
        /// The program exited with this status.
        case exited(Int32)
        /// The program was ended by this signal (not one sent for a timeout).
        case signaled(Int32)
        /// The program ran longer than the timeout and was killed.
        case timedOut
        /// The program was killed because the event log was closing.
        case cancelled
        /// The program could not be started.
        case failedToStart(String)
    }

    /// The default for ``timeout``: 30 seconds.
    public static let defaultTimeout: TimeInterval = 30

    /// The configured argument vector; `arguments[0]` is the program.
    public let arguments: [String]
    /// The program's absolute path, resolved when the hook was created.
    public let executable: String
    /// The mountpoint, passed as `RECSYNC_MOUNTPOINT`.
    public let mountpoint: String
    /// How long a hook may run before it is killed.
    public let timeout: TimeInterval
    /// How long after SIGTERM a hook that is still running gets SIGKILL.
    public let killGrace: TimeInterval
    /// Where the hook's output goes.
    public let output: Output
    /// The environment every run starts from: the daemon's, without `AWS_*`.
    public let baseEnvironment: [String: String]

    /// Creates a hook.
    ///
    /// - Parameters:
    ///   - arguments: the program (an absolute path, or a name looked up in
    ///     `PATH` of `environment`) followed by its arguments.
    ///   - environment: the daemon's environment; `AWS_*` variables are removed.
    /// - Throws: ``EventHookError`` when `arguments` is empty or the program is
    ///   not an executable file.
    public init(arguments: [String], mountpoint: String,
                environment: [String: String] = ProcessInfo.processInfo.environment,
                timeout: TimeInterval = EventHook.defaultTimeout, killGrace: TimeInterval = 2,
                output: Output = .standardError) throws {
        guard let program = arguments.first, !program.isEmpty else {
            throw EventHookError("the event hook has no program; set [hooks] on_event to a program and its arguments")
        }
        if let bad = arguments.first(where: { $0.utf8.contains(0) }) {
            throw EventHookError("an argument of the event hook contains a NUL character: \(bad.debugDescription)")
        }
        self.arguments = arguments
        self.executable = try Self.resolve(program, path: environment["PATH"])
        self.mountpoint = mountpoint
        self.timeout = timeout
        self.killGrace = killGrace
        self.output = output
        self.baseEnvironment = Self.withoutCredentials(environment)
    }

    /// `environment` without any variable whose name starts with `AWS_` (in any case).
    public static func withoutCredentials(_ environment: [String: String]) -> [String: String] {
        environment.filter { !$0.key.uppercased().hasPrefix("AWS_") }
    }

    /// The environment of the hook run for `event`.
    public func environment(for event: SyncEvent) -> [String: String] {
        var environment = baseEnvironment
        environment["RECSYNC_EVENT"] = event.type.rawValue
        environment["RECSYNC_PATH"] = event.path
        environment["RECSYNC_KEY"] = event.key ?? ""
        environment["RECSYNC_STATUS"] = event.status.rawValue
        environment["RECSYNC_PREVIOUS_STATUS"] = event.previous?.rawValue ?? ""
        environment["RECSYNC_ERROR"] = event.error ?? ""
        environment["RECSYNC_ATTEMPTS"] = String(event.attempts)
        environment["RECSYNC_BYTES"] = event.bytes.map { String($0) } ?? ""
        environment["RECSYNC_TIME"] = EventTime.format(event.time)
        environment["RECSYNC_MOUNTPOINT"] = mountpoint
        return environment
    }

    /// Runs the hook for one event and waits for it, at most ``timeout`` (plus
    /// ``killGrace``). Logs the outcome: exit status 0 at debug, anything else
    /// at warning.
    ///
    /// - Parameter isCancelled: polled while the hook runs; when it returns
    ///   true the hook is stopped as on a timeout.
    @discardableResult
    public func run(_ event: SyncEvent, logger: Logger, isCancelled: () -> Bool = { false }) -> Outcome {
        var metadata: Logger.Metadata = ["hook": "\(executable)", "event": "\(event.type.rawValue)", "path": "\(event.path)"]
        let pid: pid_t
        switch spawn(environment: environment(for: event)) {
        case let .success(child):
            pid = child
        case let .failure(error):
            metadata["error"] = "\(error.message)"
            logger.warning("event hook could not be started", metadata: metadata)
            return .failedToStart(error.message)
        }
        let outcome = wait(for: pid, isCancelled: isCancelled)
        switch outcome {
        case .exited(0):
            logger.debug("event hook finished", metadata: metadata)
        case let .exited(code):
            metadata["status"] = "\(code)"
            logger.warning("event hook exited with a non-zero status", metadata: metadata)
        case let .signaled(signal):
            metadata["signal"] = "\(signal)"
            logger.warning("event hook was killed by a signal", metadata: metadata)
        case .timedOut:
            metadata["timeout"] = "\(timeout)"
            logger.warning("event hook ran longer than its timeout and was killed", metadata: metadata)
        case .cancelled:
            logger.warning("event hook was still running at shutdown and was killed", metadata: metadata)
        case let .failedToStart(message):
            metadata["error"] = "\(message)"
            logger.warning("event hook could not be started", metadata: metadata)
        }
        return outcome
    }

    // MARK: - Starting

    /// The absolute path of `program`: itself when it contains a `/`, else the
    /// first executable file of that name in `path` (`PATH`).
    static func resolve(_ program: String, path: String?) throws -> String {
        if program.contains("/") {
            guard program.hasPrefix("/") else {
                throw EventHookError("event hook \(program.debugDescription) is a relative path; give an absolute path or a program name found in PATH")
            }
            guard ChildProcess.isExecutableFile(program) else {
                throw EventHookError("event hook \(program) is not an executable file; check the path and its permissions (chmod +x)")
            }
            return program
        }
        guard let found = ChildProcess.find(program, path: path) else {
            throw EventHookError("event hook program \(program.debugDescription) was not found in PATH (\(ChildProcess.searchPath(path))); give its absolute path")
        }
        return found
    }

    private func spawn(environment: [String: String]) -> Result<pid_t, EventHookError> {
        var child = ChildProcess(executable: executable, arguments: Array(arguments.dropFirst()), environment: environment)
        child.argv0 = arguments.first  // the name as configured, as a shell would pass it
        switch output {
        case .discard: break
        case .standardError:
            child.standardOutput = .descriptor(2)
            child.standardError = .descriptor(2)
        }
        // Its own process group, so a timeout can stop it and whatever it started.
        child.ownProcessGroup = true
        do {
            return .success(try child.spawn())
        } catch {
            return .failure(EventHookError("\(error)"))
        }
    }

    // MARK: - Waiting

    private func wait(for pid: pid_t, isCancelled: () -> Bool) -> Outcome {
        let start = Self.now()
        var terminatedAt: Double?
        var reason: Outcome = .timedOut
        var killed = false
        var pause: useconds_t = 1_000
        while true {
            var status: Int32 = 0
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid {
                if terminatedAt != nil { return reason }
                return Self.decode(status)
            }
            if result < 0 {
                if errno == EINTR { continue }
                // Someone else reaped it (ECHILD): the status is lost.
                return terminatedAt != nil ? reason : .exited(-1)
            }
            let now = Self.now()
            if terminatedAt == nil {
                let cancelled = isCancelled()
                if cancelled || now - start >= timeout {
                    reason = cancelled ? .cancelled : .timedOut
                    // The hook leads its own process group; signal the group so
                    // that programs it started stop too.
                    kill(-pid, SIGTERM)
                    terminatedAt = now
                }
            } else if !killed, let terminatedAt, now - terminatedAt >= killGrace {
                kill(-pid, SIGKILL)
                killed = true
            }
            usleep(pause)
            pause = min(pause * 2, 20_000)
        }
    }

    /// Decodes a `waitpid` status (the `WIFEXITED`/`WEXITSTATUS`/`WTERMSIG` macros).
    static func decode(_ status: Int32) -> Outcome {
        let signal = status & 0x7f
        if signal == 0 { return .exited((status >> 8) & 0xff) }
        return .signaled(signal)
    }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// An event hook that cannot be set up or started; the message says what to fix.
public struct EventHookError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
