import FoundationEssentials
import Logging
import RecsyncFS
import RecsyncFUSE
import RecsyncPrimitives
import Glibc

/// How the daemon stops, whatever asked: SIGTERM, SIGINT or SIGHUP (`systemctl stop`, a
/// shutdown, Ctrl-C in the foreground) or `recsync unmount` over the control socket.
///
/// 1. Files still open for writing keep being served for up to `shutdown_grace`: a recorder
///    that finishes within it loses nothing and its file is queued as usual.
/// 2. Then every descriptor still open for writing is fsynced (everything written so far is on
///    the disk), their names are logged and handed back to `recsync unmount`, and the mount is
///    detached, so the folder shows the plain files at once and never answers "Transport
///    endpoint is not connected". Those files are queued by the scan at the next mount.
/// 3. The daemon's own teardown runs (uploads in flight get what is left of the grace period).
///    When programs still hold files of the detached mount, the kernel keeps the FUSE connection
///    open for them; the daemon then exits by itself, which ends their handles.
///
/// `write()` is never acknowledged before its bytes are in the backing file (the mount has no
/// writeback cache), so even kill -9 loses nothing that a program was told was written.
///
/// Locking: `condition` guards every `var`.
final class StopSequence: @unchecked Sendable {
    private let fs: PassthroughFS
    private let mount: FuseMount
    private let grace: TimeInterval
    private let logger: Logger
    private let condition = Condition()
    private var startedAt: Date?
    private var writersDone = false
    private var stillOpen: [String] = []
    private var loopEnded = false
    /// The daemon's teardown; run once, by whoever gets there first; the other waits for it.
    private var teardown: (() -> Void)?
    private var teardownState = TeardownState.notStarted
    /// Who ends the process: the main thread (the loop ended) or the stop thread (programs keep
    /// the detached mount's connection, so the loop does not end). Decided once, under the lock.
    private var finisher: Finisher?

    private enum TeardownState { case notStarted, running, done }
    private enum Finisher { case mainThread, stopThread }

    /// The signals that stop the daemon. They are blocked in every thread (call
    /// `blockStopSignals()` before any thread starts) and taken by one thread with sigwait.
    static let signals: [Int32] = [SIGTERM, SIGINT, SIGHUP]
    static let pollInterval: useconds_t = 50_000

    init(fs: PassthroughFS, mount: FuseMount, grace: TimeInterval, logger: Logger) {
        self.fs = fs
        self.mount = mount
        self.grace = grace
        self.logger = logger
    }

    /// Blocks the stop signals in the calling thread and every thread it starts later, so that
    /// only the listener's sigwait takes them (a handler could run on any thread, mid-request).
    static func blockStopSignals() {
        var set = signalSet()
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    private static func signalSet() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        return set
    }

    /// Takes the stop signals on a thread of its own and starts the stop at the first one.
    func listenForSignals() {
        let thread = WorkerThread { [self] in
            var set = Self.signalSet()
            while true {
                var received: Int32 = 0
                guard sigwait(&set, &received) == 0 else { continue }
                let name = received == SIGTERM ? "SIGTERM" : received == SIGINT ? "SIGINT" : "SIGHUP"
                if isStopping {
                    logger.notice("\(name) received again; already stopping")
                    continue
                }
                WorkerThread.detachNewThread { _ = self.stop(reason: name) }
            }
        }
        thread.name = "recsync-signals"
        thread.start()
    }

    /// What runs after the mount is gone: stopping uploads, closing the queue.
    func setTeardown(_ body: @escaping () -> Void) {
        condition.withLock { teardown = body }
    }

    var isStopping: Bool { condition.withLock { startedAt != nil } }

    /// When uploads in flight must be done: the end of the grace period counted from the start of
    /// the stop (or from now, when the mount went away from outside).
    var uploadDeadline: Date {
        condition.withLock { (startedAt ?? Date()).addingTimeInterval(grace) }
    }

    /// Starts the stop (only the first call does; later ones wait for the same answer) and
    /// returns once the wait for writers is over, with the files that were still open for writing.
    @discardableResult
    func stop(reason: String) -> [String] {
        condition.lock()
        if startedAt != nil {
            while !writersDone { condition.wait() }
            let names = stillOpen
            condition.unlock()
            return names
        }
        let started = Date()
        startedAt = started
        condition.unlock()

        onStopBegins?()
        var open = fs.filesOpenForWriting()
        logger.notice("stopping", metadata: ["reason": "\(reason)", "open_for_writing": "\(open.count)"])
        if !open.isEmpty {
            logger.notice("files are still open for writing; serving them for up to \(Int(grace)) s (shutdown_grace)",
                          metadata: ["files": "\(open.joined(separator: ", "))"])
            let deadline = started.addingTimeInterval(grace)
            while !open.isEmpty && Date() < deadline {
                usleep(Self.pollInterval)
                open = fs.filesOpenForWriting()
            }
        }
        if !open.isEmpty {
            let result = fs.syncOpenWriters()
            logger.warning("still open for writing after the grace period: everything written so far is on disk; these files are queued at the next mount",
                           metadata: ["files": "\(open.joined(separator: ", "))", "synced_descriptors": "\(result.synced)"])
            for error in result.errors { logger.error("could not make a file durable: \(error)") }
        }
        condition.withLock {
            stillOpen = open
            writersDone = true
            condition.broadcast()
        }
        // Detach the mount on a thread of its own, so that the caller (a control request) can
        // answer before the daemon goes away.
        let holdersRemain = !open.isEmpty
        WorkerThread.detachNewThread { [self] in self.detach(holdersRemain: holdersRemain) }
        return open
    }

    private func detach(holdersRemain: Bool) {
        usleep(200_000)
        mount.unmount()
        // The loop ends once the kernel lets go of the connection; programs that still hold
        // files of the mount keep it, so after a short wait the daemon finishes without it.
        let deadline = Date().addingTimeInterval(holdersRemain ? 1 : 5)
        condition.lock()
        while !loopEnded && condition.wait(until: deadline) {}
        let takeOver = finisher == nil
        if takeOver { finisher = .stopThread }
        condition.unlock()
        guard takeOver else { return }
        logger.notice("programs still hold files of the detached mount; finishing without waiting for them")
        runTeardown()
        onForcedExit?()
        exit(0)
    }

    /// What must happen before the stop thread ends the process itself (the pid file goes).
    var onForcedExit: (() -> Void)?
    /// Called once, as a stop begins (before the wait for writers).
    var onStopBegins: (() -> Void)?

    /// The FUSE loop returned (the mount is gone): run the teardown, unless the stop thread
    /// already decided to end the process (then this thread waits for that end).
    func loopDidEnd() {
        let mine = condition.withLock { () -> Bool in
            loopEnded = true
            condition.broadcast()
            if finisher == nil { finisher = .mainThread }
            return finisher == .mainThread
        }
        guard mine else {
            while true { pause() }
        }
        runTeardown()
    }

    /// Runs the teardown once; a second caller waits until it is done.
    private func runTeardown() {
        condition.lock()
        switch teardownState {
        case .done:
            condition.unlock()
            return
        case .running:
            while teardownState != .done { condition.wait() }
            condition.unlock()
            return
        case .notStarted:
            teardownState = .running
            let body = teardown
            condition.unlock()
            body?()
            condition.withLock {
                teardownState = .done
                condition.broadcast()
            }
        }
    }
}
