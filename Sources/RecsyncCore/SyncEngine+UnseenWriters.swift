import CSysShims
import FoundationEssentials
import RecsyncFS
import RecsyncStore
import Synchronization
import RecsyncPrimitives
import Glibc

/// Writers recsync cannot see. With kernel passthrough a program's writes go from the kernel
/// straight to the file on disk, and two of them outlive what recsync watches:
/// - a program that keeps a file open for writing after the daemon that served its open
///   stopped or died: the file is still open for writing, through a connection that is gone,
///   and the next mount hears neither its writes nor its close;
/// - a shared writable mapping (`mmap`) kept after the last `close()`: it writes into the file
///   on disk after recsync saw the file released.
///
/// The kernel knows: such a file is open for writing, which a read lease cannot be taken on
/// (`recsync_open_for_writing_elsewhere`). The uploader asks before an upload starts and before
/// one is marked synced, the start-up scan asks for every file, and every file whose writers were
/// all released is asked about once more a moment later (the kernel lets go of a handle's file
/// just after the release). A file with such a writer is `local`, as while recsync sees it
/// written, and is looked at again every `unseenWriterInterval` until the writer is gone; then it
/// is queued if it changed.
///
/// Locking: the sets are in `live`; nothing here calls the queue with it held.
extension SyncEngine {
    /// How often a file with an unseen writer is looked at again.
    static let unseenWriterInterval: TimeInterval = 1
    /// How long after its last release a file is asked about.
    static let releasedWriterDelay: Duration = .milliseconds(500)

    /// Whether a process other than recsync's own writers has the file open for writing (`fd`
    /// read-only). false when it cannot be told (leases disabled, not the file's owner without
    /// CAP_LEASE): then recsync trusts what it sees, as without passthrough, and says so once.
    func hasUnseenWriter(fd: Int32) -> Bool {
        switch recsync_open_for_writing_elsewhere(fd) {
        case 1:
            return true
        case 0:
            return false
        default:
            let reason = String(cString: strerror(errno))
            if !Self.leaseRefusalLogged.exchange(true, ordering: .relaxed) {
                logger.warning("cannot ask the kernel whether a file is open for writing (\(reason)); a program that keeps writing after recsync stopped, or through a mapping kept after close, may go unnoticed")
            }
            return false
        }
    }

    private static let leaseRefusalLogged = Atomic<Bool>(false)

    /// Whether the file at `path` has an unseen writer now (false when it cannot be opened).
    func hasUnseenWriter(path: String) -> Bool {
        let fd = Beneath.open(rootFd, path, O_RDONLY | recsync_O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return hasUnseenWriter(fd: fd)
    }

    /// The file at `path` is open for writing by a process recsync cannot see: it is `local`
    /// until that writer is gone, then queued if it changed. An upload in flight is stopped.
    /// A file recsync's own writers hold is left to them: their release asks again.
    func noteUnseenWriter(path: String) {
        let key = PathKey(path)
        let (isNew, startWatch, progress) = live.withLock { state -> (Bool, Bool, UploadProgress?) in
            let ours = state.held.contains(key) || (state.writing.contains(key) && !state.unseenWriters.contains(key))
            guard !ours, !state.stoppedWatching else { return (false, false, nil) }
            state.writing.insert(key)
            let isNew = state.unseenWriters.insert(key).inserted
            return (isNew, startWatching(&state), state.uploads[key])
        }
        progress?.cancel()
        if isNew {
            logger.notice("a program recsync cannot see has this file open for writing (one that outlived the mount that opened it, or a shared mapping kept after close); it stays local until that writer is gone",
                          metadata: ["path": "\(path)"])
        }
        if startWatch { startWatcher() }
    }

    /// Every writer handle of the file was released: ask about it once more shortly.
    func noteWritersReleased(path: String) {
        let startWatch = live.withLock { state -> Bool in
            guard !state.stoppedWatching else { return false }
            state.releasedWriters[PathKey(path)] = ContinuousClock.now
            return startWatching(&state)
        }
        if startWatch { startWatcher() }
    }

    /// Ends the watching at a stop: the queue is about to close.
    public func stopWatchingUnseenWriters() {
        live.withLock { $0.stoppedWatching = true }
    }

    /// Whether the caller must start the watcher (it was not running); called with `live` held.
    private func startWatching(_ state: inout LiveState) -> Bool {
        guard !state.watchingUnseenWriters else { return false }
        state.watchingUnseenWriters = true
        return true
    }

    private func startWatcher() {
        let thread = WorkerThread { [self] in watchUnseenWriters() }
        thread.name = "recsync-unseen-writers"
        thread.start()
    }

    private func watchUnseenWriters() {
        while true {
            WorkerThread.sleep(forTimeInterval: Self.unseenWriterInterval)
            let now = ContinuousClock.now
            let next = live.withLock { state -> (watched: [PathKey], released: [PathKey])? in
                if state.stoppedWatching {
                    state.watchingUnseenWriters = false
                    return nil
                }
                let due = state.releasedWriters.filter { now - $0.value >= Self.releasedWriterDelay }.map(\.key)
                due.forEach { state.releasedWriters.removeValue(forKey: $0) }
                return (Array(state.unseenWriters), due)
            }
            guard let (watched, released) = next else { return }
            for key in released where hasUnseenWriter(path: key.path) { noteUnseenWriter(path: key.path) }
            for key in watched where !hasUnseenWriter(path: key.path) { writerGone(key) }
            let done = live.withLock { state -> Bool in
                if state.stoppedWatching || (state.unseenWriters.isEmpty && state.releasedWriters.isEmpty) {
                    state.watchingUnseenWriters = false
                }
                return !state.watchingUnseenWriters
            }
            if done { return }
        }
    }

    /// The unseen writer of `key` is gone (or the file is): the file is no longer `local` unless
    /// recsync's own writers still have it, and is queued when it differs from its record.
    private func writerGone(_ key: PathKey) {
        let gone = live.withLock { state -> (ours: Bool, critical: Bool)? in
            guard !state.stoppedWatching, state.unseenWriters.remove(key) != nil else { return nil }
            let ours = state.held.contains(key)
            if ours { return (true, false) }
            state.writing.remove(key)
            return (false, state.criticalOnClose.remove(key) != nil)
        }
        guard let gone, !gone.ours else { return }
        logger.info("the unseen writer of this file is gone", metadata: ["path": "\(key.path)"])
        guard let st = try? Self.stat(rootFd, key.path), (st.st_mode & S_IFMT) == S_IFREG else { return }
        do {
            let record = try queue.record(path: key.path)
            if gone.critical || Scanner(engine: self, logger: logger).needsUpload(path: key.path, record: record, identity: FileIdentity(st)) {
                try enqueue(path: key.path, priority: gone.critical ? .critical : .high, dueAt: gone.critical ? nil : settledAt())
            }
        } catch {
            noteQueueFailure(path: key.path)
            logger.error("cannot queue a file whose unseen writer is gone", metadata: ["path": "\(key.path)", "error": "\(error)"])
        }
        wake()
    }
}
