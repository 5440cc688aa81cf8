import FoundationEssentials
import Logging
#if canImport(Glibc)
import Glibc
#endif
import RecsyncPrimitives
import Dispatch

/// The event log of a mount: every ``SyncEvent`` appended as one JSON line to
/// `events.jsonl` in the state directory, and handed to the ``EventHook``, if
/// any.
///
/// - Writing: the file is opened with `O_APPEND` and mode 0600; each line is
///   written with a single `write(2)`, so lines from concurrent writers never
///   interleave. Lines are not synced one by one; ``close(timeout:)`` syncs.
/// - Rotation: when a line would take the file past ``rotationBytes``
///   (16 MiB), the file is renamed to `events.jsonl.1` (replacing the previous
///   one) and a new file is started.
/// - Hooks: ``emit(_:)`` never waits for a hook. Events are queued for one
///   background queue that runs the hook for each in turn; when more than
///   ``hookBacklogLimit`` are waiting, the oldest are dropped with a warning.
///
/// Thread safety: every mutable property below is guarded by `state`, an
/// `Condition` used as the lock (and signalled when the hook backlog
/// drains). Hooks run, and the logger is called, without holding it.
public final class EventLog: @unchecked Sendable {
    /// The name of the event log in the state directory.
    public static let fileName = "events.jsonl"
    /// The default for ``rotationBytes``: 16 MiB.
    public static let defaultRotationBytes = 16 * 1024 * 1024
    /// The default for ``hookBacklogLimit``.
    public static let defaultHookBacklogLimit = 1000

    /// The log file's path.
    public let path: String
    /// The path the file is renamed to when it is rotated: `path` + `.1`.
    public var rotatedPath: String { path + ".1" }
    /// The size past which the file is rotated.
    public let rotationBytes: Int
    /// The most events waiting for the hook.
    public let hookBacklogLimit: Int
    let hook: EventHook?
    let logger: Logger
    private let hookQueue = DispatchQueue(label: "recsync.event-hooks")

    private let state = Condition()
    /// The open log file, or -1 after ``close(timeout:)`` (or a failed rotation).
    private var fd: Int32
    /// Bytes in the current file.
    private var size: Int
    private var closed = false
    /// Whether the last write failed; only the first failure of a series is logged.
    private var writeFailing = false
    /// Events waiting for the hook, oldest first.
    private var backlog: [SyncEvent] = []
    /// Index of the oldest waiting event in `backlog` (removed lazily).
    private var backlogStart = 0
    /// Whether a drain is scheduled or running on `hookQueue`.
    private var draining = false
    /// Events dropped from a full backlog since the log was opened.
    private var dropped = 0
    /// Set when `close(timeout:)` gave up waiting: the running hook is stopped.
    private var cancelHooks = false

    /// Opens (or creates, mode 0600) the event log at `path` for appending.
    ///
    /// - Parameters:
    ///   - hook: run for every event, in order, on a background queue; nil for none.
    /// - Throws: ``EventLogError`` when the file cannot be opened.
    public init(path: String, hook: EventHook?, logger: Logger,
                rotationBytes: Int = EventLog.defaultRotationBytes,
                hookBacklogLimit: Int = EventLog.defaultHookBacklogLimit) throws {
        self.path = path
        self.hook = hook
        self.logger = logger
        self.rotationBytes = max(1, rotationBytes)
        self.hookBacklogLimit = max(1, hookBacklogLimit)
        (fd, size) = try Self.open(path)
    }

    deinit {
        if fd >= 0 { Glibc.close(fd) }
    }

    /// Appends `event` to the log and queues it for the hook. Never blocks on
    /// the hook; errors writing the file are logged, not thrown.
    public func emit(_ event: SyncEvent) {
        let line = Array(event.jsonLine().utf8)
        var problems: [(Logger.Level, Logger.Message, Logger.Metadata)] = []
        var scheduleDrain = false
        state.lock()
        if closed {
            state.unlock()
            logger.debug("event after the event log was closed", metadata: ["event": "\(event.type.rawValue)", "path": "\(event.path)"])
            return
        }
        if fd >= 0, size > 0, size + line.count > rotationBytes {
            if let problem = rotateLocked() { problems.append(problem) }
        }
        if fd < 0, let problem = reopenLocked() { problems.append(problem) }
        if fd >= 0 {
            if let problem = writeLocked(line) { problems.append(problem) }
        }
        if hook != nil {
            backlog.append(event)
            if backlog.count - backlogStart > hookBacklogLimit {
                backlogStart += 1
                dropped += 1
                // The first drop and every hundredth after it, not one line per event.
                if dropped % 100 == 1 {
                    problems.append((.warning, "event hooks are falling behind; the oldest waiting events are not passed to the hook",
                                     ["limit": "\(hookBacklogLimit)", "dropped": "\(dropped)"]))
                }
            }
            if backlogStart > 1024, backlogStart * 2 > backlog.count {
                backlog.removeFirst(backlogStart)
                backlogStart = 0
            }
            if !draining {
                draining = true
                scheduleDrain = true
            }
        }
        state.unlock()
        for (level, message, metadata) in problems {
            logger.log(level: level, message, metadata: metadata)
        }
        if scheduleDrain {
            hookQueue.async { self.drainHooks() }
        }
    }

    /// Stops taking events, waits up to `timeout` seconds for queued hooks to
    /// run (a hook still running then is killed, the rest are dropped with a
    /// warning), and syncs and closes the file. Calling it again does nothing.
    public func close(timeout: TimeInterval = 10) {
        let deadline = Date().addingTimeInterval(max(0, timeout))
        state.lock()
        if closed {
            state.unlock()
            return
        }
        closed = true
        while draining, state.wait(until: deadline) {}
        let abandoned = backlog.count - backlogStart
        let stillDraining = draining
        if stillDraining {
            // Stop the running hook (SIGTERM, then SIGKILL after its grace)
            // and wait for that, so no hook outlives the daemon.
            cancelHooks = true
            backlog.removeAll()
            backlogStart = 0
            let killDeadline = Date().addingTimeInterval((hook?.killGrace ?? 0) + 1)
            while draining, state.wait(until: killDeadline) {}
        }
        if fd >= 0 {
            fsync(fd)
            Glibc.close(fd)
            fd = -1
        }
        state.unlock()
        if stillDraining {
            logger.warning("event hooks did not finish before shutdown; the running hook is stopped and waiting events are dropped",
                           metadata: ["dropped": "\(abandoned)", "timeout": "\(timeout)"])
        }
    }

    // MARK: - Hooks

    /// Runs the hook for each waiting event, oldest first, until none is left.
    private func drainHooks() {
        guard let hook else { return }
        while true {
            state.lock()
            guard backlogStart < backlog.count else {
                backlog.removeAll(keepingCapacity: true)
                backlogStart = 0
                draining = false
                state.broadcast()
                state.unlock()
                return
            }
            let event = backlog[backlogStart]
            backlogStart += 1
            state.unlock()
            hook.run(event, logger: logger, isCancelled: { [self] in
                state.lock()
                defer { state.unlock() }
                return cancelHooks
            })
        }
    }

    // MARK: - File (called with `state` held)

    private typealias Problem = (Logger.Level, Logger.Message, Logger.Metadata)

    private func writeLocked(_ line: [UInt8]) -> Problem? {
        var written = 0
        while written < line.count {
            // One write(2) per line; the loop only continues after a signal or
            // a short write (a full disk), where nothing better is possible.
            let count = line.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if count < 0 {
                if errno == EINTR { continue }
                let message = String(cString: strerror(errno))
                defer { writeFailing = true }
                return writeFailing ? nil : (.error, "cannot write to the event log", ["path": "\(path)", "error": "\(message)"])
            }
            written += count
        }
        size += written
        writeFailing = false
        return nil
    }

    private func rotateLocked() -> Problem? {
        var problem: Problem?
        if rename(path, rotatedPath) != 0 {
            problem = (.error, "cannot rotate the event log", ["path": "\(path)", "error": "\(String(cString: strerror(errno)))"])
        }
        Glibc.close(fd)
        fd = -1
        size = 0
        return reopenLocked() ?? problem
    }

    private func reopenLocked() -> Problem? {
        do {
            (fd, size) = try Self.open(path)
            return nil
        } catch {
            defer { writeFailing = true }
            return writeFailing ? nil : (.error, "cannot open the event log", ["path": "\(path)", "error": "\(error)"])
        }
    }

    private static func open(_ path: String) throws -> (Int32, Int) {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw EventLogError("cannot open the event log \(path): \(String(cString: strerror(errno))); check that the state directory exists and is writable")
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let message = String(cString: strerror(errno))
            Glibc.close(fd)
            throw EventLogError("cannot read the size of the event log \(path): \(message)")
        }
        return (fd, Int(info.st_size))
    }
}

/// The event log cannot be opened or read; the message says what to fix.
public struct EventLogError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
