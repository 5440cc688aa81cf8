import FoundationEssentials
import RecsyncPrimitives
import Glibc
import Dispatch

/// Brings the queue's commits to the disk within a second, without a disk sync in each commit.
///
/// The connection runs with `synchronous=NORMAL`: a commit writes its pages into the write-ahead
/// log and returns. From then on it survives a crash or a kill of recsync (the kernel holds the
/// pages); this syncer makes it survive a power loss too, at most `interval` later, by syncing
/// the log once a second while commits come in (SQLite's own checkpoints sync it as well). A
/// commit lost to a power loss inside that second is found again by the scan at the next mount,
/// which queues every file that differs from its record (docs/QUEUE.md, "Durability").
///
/// Locking: `state` is taken alone. The queue's lock is taken by `changes` (the caller's closure)
/// and never while `state` is held; the log is synced outside both.
final class WALSyncer: @unchecked Sendable {
    private let walPath: String
    /// Reads the connection's count of changed rows (under the queue's lock).
    private let changes: @Sendable () -> Int64?
    private struct State {
        var fd: Int32 = -1
        var synced: Int64 = 0
        var syncs = 0
        var stopped = false
    }
    private let state = Lock()
    private var current = State()
    private let timer: DispatchSourceTimer

    init(databasePath: String, interval: TimeInterval = 1, changes: @escaping @Sendable () -> Int64?) {
        walPath = databasePath + "-wal"
        self.changes = changes
        timer = DispatchSource.makeTimerSource(queue: DispatchQueue.global(qos: .utility))
        timer.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(100))
        timer.setEventHandler { [weak self] in _ = self?.sync() }
        timer.resume()
    }

    deinit { stop() }

    /// How many times the log was synced (for tests).
    var syncCount: Int { state.withLock { current.syncs } }

    /// Syncs the log if rows changed since the last sync. Returns whether it synced.
    @discardableResult
    func sync() -> Bool {
        guard let count = changes() else { return false }
        let fd = state.withLock { () -> Int32 in
            guard !current.stopped, count != current.synced else { return -1 }
            if current.fd < 0 { current.fd = open(walPath, O_RDONLY | O_CLOEXEC) }
            return current.fd
        }
        guard fd >= 0, fdatasync(fd) == 0 else { return false }
        state.withLock {
            current.synced = max(current.synced, count)
            current.syncs += 1
        }
        return true
    }

    /// Syncs what is left and stops. Idempotent.
    func stop() {
        _ = sync()
        let fd = state.withLock { () -> Int32 in
            defer { current.fd = -1; current.stopped = true }
            return current.stopped ? -1 : current.fd
        }
        if fd >= 0 { close(fd) }
        timer.cancel()
    }
}
