import CSysShims
import Foundation
import RecsyncFS
import RecsyncStore

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
/// one is marked synced, and the start-up scan asks for every file it does not queue. A file with
/// such a writer is `local`, as while recsync sees it written, and is looked at again every
/// `unseenWriterInterval` until the writer is gone; then it is queued if it changed.
///
/// Locking: the sets are in `live`; nothing here calls the queue with it held.
extension SyncEngine {
    /// How often a file with an unseen writer is looked at again.
    static let unseenWriterInterval: TimeInterval = 1

    /// Whether a process other than recsync's own writers has the file open for writing (`fd`
    /// read-only). false when it cannot be told (not the file's owner without CAP_LEASE, leases
    /// disabled): then recsync trusts what it sees, as without passthrough.
    static func hasUnseenWriter(fd: Int32) -> Bool {
        recsync_open_for_writing_elsewhere(fd) == 1
    }

    /// Whether the file at `path` has an unseen writer now (false when it cannot be opened).
    func hasUnseenWriter(path: String) -> Bool {
        let fd = Beneath.open(rootFd, path, O_RDONLY | recsync_O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return Self.hasUnseenWriter(fd: fd)
    }

    /// The file at `path` is open for writing by a process recsync cannot see: it is `local`
    /// until that writer is gone, then queued if it changed. An upload in flight is stopped.
    func noteUnseenWriter(path: String) {
        let key = PathKey(path)
        let (isNew, startWatch, progress) = live.withLock { state -> (Bool, Bool, UploadProgress?) in
            state.writing.insert(key)
            let isNew = state.unseenWriters.insert(key).inserted
            let start = !state.watchingUnseenWriters
            state.watchingUnseenWriters = true
            return (isNew, start, state.uploads[key])
        }
        progress?.cancel()
        if isNew {
            logger.notice("a program recsync cannot see has this file open for writing (one that outlived the mount that opened it, or a shared mapping kept after close); it stays local until that writer is gone",
                          metadata: ["path": "\(path)"])
        }
        if startWatch {
            let thread = Thread { [self] in watchUnseenWriters() }
            thread.name = "recsync-unseen-writers"
            thread.start()
        }
    }

    private func watchUnseenWriters() {
        while true {
            Thread.sleep(forTimeInterval: Self.unseenWriterInterval)
            for key in live.withLock({ Array($0.unseenWriters) }) where !hasUnseenWriter(path: key.path) {
                writerGone(key)
            }
            let done = live.withLock { state -> Bool in
                if state.unseenWriters.isEmpty { state.watchingUnseenWriters = false }
                return !state.watchingUnseenWriters
            }
            if done { return }
        }
    }

    /// The unseen writer of `key` is gone (or the file is): the file is no longer `local` unless
    /// recsync's own writers still have it, and is queued when it differs from its record.
    private func writerGone(_ key: PathKey) {
        let stillOurs = live.withLock { state -> Bool? in
            guard state.unseenWriters.remove(key) != nil else { return nil }
            let ours = state.held.contains(key)
            if !ours { state.writing.remove(key) }
            return ours
        }
        guard stillOurs == false else { return }
        logger.info("the unseen writer of this file is gone", metadata: ["path": "\(key.path)"])
        guard let st = try? Self.stat(rootFd, key.path), (st.st_mode & S_IFMT) == S_IFREG else { return }
        do {
            let record = try queue.record(path: key.path)
            if Scanner(engine: self, logger: logger).needsUpload(path: key.path, record: record, identity: FileIdentity(st)) {
                try enqueue(path: key.path, priority: .high, dueAt: settledAt())
            }
        } catch {
            logger.error("cannot queue a file whose unseen writer is gone", metadata: ["path": "\(key.path)", "error": "\(error)"])
        }
        wake()
    }
}
