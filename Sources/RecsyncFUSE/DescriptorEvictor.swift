import CFuse3
import FoundationEssentials
import Logging
import RecsyncFS
import RecsyncPrimitives
import Glibc
import Dispatch

/// Keeps the inode table's O_PATH descriptors below half of the process's descriptor limit, so
/// that a `find` over a hundred thousand files cannot leave the uploader, SQLite or curl without
/// descriptors. Every name the kernel has looked up holds one descriptor until the kernel forgets
/// it, which it does only under memory pressure; above the high-water mark this thread asks the
/// kernel to drop the least used file names (`fuse_lowlevel_notify_inval_entry`), and the kernel
/// then forgets those inodes, which closes their descriptors. A lookup that still finds the
/// process out of descriptors presses for an eviction at once and tries again.
///
/// The notifications come from this thread only, never from a thread answering a request (as
/// libfuse requires). Locking: `condition` guards `pressed` and `stopped`.
final class DescriptorEvictor: @unchecked Sendable {
    private let fs: PassthroughFS
    /// Valid until `stop()` returned: FuseMount stops the evictor before it destroys the session.
    private let session: OpaquePointer
    private let logger: Logger
    let highWater: Int
    let lowWater: Int
    private let condition = Condition()
    private var pressed = false
    private var stopped = false
    private let done = DispatchSemaphore(value: 0)

    init(fs: PassthroughFS, session: OpaquePointer, descriptorLimit: Int, logger: Logger) {
        self.fs = fs
        self.session = session
        self.logger = logger
        highWater = max(256, descriptorLimit / 2)
        lowWater = highWater * 3 / 4
    }

    /// The process's descriptor limit now (after the daemon raised it).
    static var currentLimit: Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return Int(min(limit.rlim_cur, rlim_t(Int32.max)))
    }

    func start() {
        let thread = WorkerThread { [self] in
            defer { done.signal() }
            while true {
                condition.lock()
                if !pressed && !stopped { _ = condition.wait(until: Date().addingTimeInterval(0.2)) }
                let (urgent, finished) = (pressed, stopped)
                pressed = false
                condition.unlock()
                if finished { return }
                evict(urgent: urgent)
            }
        }
        thread.name = "recsync-evictor"
        thread.start()
    }

    /// A lookup ran out of descriptors: evict now.
    func press() {
        condition.withLock {
            pressed = true
            condition.broadcast()
        }
    }

    /// Stops the thread and waits for it; later calls return at once.
    func stop() {
        let first = condition.withLock { () -> Bool in
            defer { stopped = true; condition.broadcast() }
            return !stopped
        }
        if first { done.wait() }
    }

    private func evict(urgent: Bool) {
        let known = fs.knownInodeCount
        guard known > highWater || urgent else { return }
        let excess = max(known - lowWater, urgent ? known / 4 : 0)
        var asked = 0
        for entry in fs.leastRecentlyUsedFiles(excess) {
            // Safe: the session is alive until stop() returned; the name is copied for the call.
            let result = NameCoding.withCString(entry.name) { fuse_lowlevel_notify_inval_entry(session, fuse_ino_t(entry.parent), $0, strlen($0)) }
            if result == 0 { asked += 1 }
        }
        logger.debug("asked the kernel to forget file names", metadata: ["known": "\(known)", "asked": "\(asked)",
                                                                         "high_water": "\(highWater)"])
    }
}
