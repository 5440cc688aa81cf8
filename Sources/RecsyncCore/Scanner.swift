import CSysShims
import FoundationEssentials
import RecsyncFS
import Logging
import RecsyncStore
import Glibc

/// Finds files that changed while recsync was not running and queues them at NORMAL priority:
/// new files, and known files of any status that differ from their record (see `needsUpload`).
/// Records of files that no longer exist are dropped.
public struct Scanner: Sendable {
    let engine: SyncEngine
    let logger: Logger
    /// Ask the kernel, for every file, whether a process recsync cannot see still has it open for
    /// writing (SyncEngine+UnseenWriters.swift): a program that outlived the last mount. Done by
    /// the scan at start-up; on a live mount the uploader and each release ask instead.
    let lookForUnseenWriters: Bool

    public init(engine: SyncEngine, logger: Logger, lookForUnseenWriters: Bool = false) {
        self.engine = engine
        self.logger = logger
        self.lookForUnseenWriters = lookForUnseenWriters
    }

    public struct Result: Sendable, Equatable {
        public var queued = 0
        public var removed = 0
        public var seen = 0
    }

    @discardableResult
    public func run() -> Result {
        var result = Result()
        walk(folder: "", result: &result)
        do {
            for record in try engine.queue.records(under: "") {
                // Under the namespace lock, so a rename cannot slip between the check and the removal.
                engine.namespaceLock.lock()
                defer { engine.namespaceLock.unlock() }
                var st = stat()
                if Beneath.stat(engine.rootFd, record.path, &st) != 0 && errno == ENOENT {
                    _ = try engine.queue.remove(path: record.path)
                    result.removed += 1
                }
            }
        } catch {
            logger.error("scan could not check the queue", metadata: ["error": "\(error)"])
        }
        engine.scanFinished()
        if result.queued > 0 { engine.wake() }
        logger.info("scan finished", metadata: ["files": "\(result.seen)", "queued": "\(result.queued)", "dropped": "\(result.removed)"])
        return result
    }

    /// Files found to queue are queued in batches of this many, one queue transaction each.
    static let batchSize = 256

    private func walk(folder: String, result: inout Result) {
        var batch: [SyncEngine.Found] = []
        batch.reserveCapacity(Self.batchSize)
        for path in FolderWalk(rootFd: engine.rootFd).files(under: folder) {
            // The birth time names a file new to the queue; read on the stat's descriptor it
            // costs one statx (also for the files the queue knows) instead of a second open.
            guard let (st, born) = Beneath.stat(engine.rootFd, path, birth: true) else { continue }
            result.seen += 1
            check(path: path, stat: st, born: born, into: &batch)
            if batch.count >= Self.batchSize { flush(&batch, result: &result) }
        }
        flush(&batch, result: &result)
    }

    private func flush(_ batch: inout [SyncEngine.Found], result: inout Result) {
        guard !batch.isEmpty else { return }
        result.queued += engine.enqueueBatch(batch, priority: .normal)
        batch.removeAll(keepingCapacity: true)
    }

    private func check(path: String, stat st: stat, born: Date?, into batch: inout [SyncEngine.Found]) {
        do {
            guard (st.st_mode & S_IFMT) == S_IFREG, !engine.isBeingWritten(path) else { return }
            if lookForUnseenWriters, engine.hasUnseenWriter(path: path) {
                // Still written by a program the last mount served (SyncEngine+UnseenWriters.swift).
                engine.noteUnseenWriter(path: path)
                return
            }
            let record = try engine.queue.record(path: path)
            guard needsUpload(path: path, record: record, identity: FileIdentity(st)) else { return }
            batch.append(SyncEngine.Found(path: path, stat: st, born: born, known: record))
        } catch {
            engine.noteQueueFailure(path: path)
            logger.error("scan could not queue a file", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }

    /// Whether the file on disk differs from what its record says, whatever the record's status:
    /// - no record: never queued;
    /// - `synced`: the confirmed identity (size, mtime, ctime, inode) moved. When only ctime or
    ///   the inode moved (a chmod, a rename or a copy that kept the times, while recsync was
    ///   stopped, or a record from a version that kept no ctime), the file is hashed and compared
    ///   with the stored checksum first: the same bytes cost no upload, and their identity is
    ///   recorded;
    /// - `pending`, `syncing` (interrupted), `failed`: size or mtime differ from those at its last
    ///   enqueue. Queueing it again starts its upload afresh (a stored multipart upload of the old
    ///   bytes is abandoned); an unchanged one keeps its place, and a resumed upload checks its
    ///   stored parts against the file itself.
    func needsUpload(path: String, record: FileRecord?, identity: FileIdentity) -> Bool {
        guard let record else { return true }
        switch record.status {
        case .synced:
            // Synced by a version that kept no ctime and inode: proven once by a hash like a
            // ctime change (below), then its identity is recorded.
            if identity.matchesSynced(record) && record.syncedCtimeNs != nil { return false }
            guard record.syncedSize == identity.size, record.syncedMtimeNs == identity.mtimeNs else { return true }
            let fd = Beneath.open(engine.rootFd, path, O_RDONLY | recsync_O_NOFOLLOW)
            guard fd >= 0 else { return true }
            defer { close(fd) }
            let checksum = try? engine.queue.checksum(path: path)
            guard ContentCheck.matches(fd: fd, size: identity.size, checksum: checksum ?? record.etag.flatMap(FileUpload.singlePartChecksum)) == true,
                  FileIdentity.of(fd: fd) == identity else { return true }
            logger.debug("metadata changed while unmounted; the bytes are the synced ones (hashed again)", metadata: ["path": "\(path)"])
            confirm(record, identity)
            return false
        case .pending, .syncing, .failed:
            return record.size != identity.size || record.mtimeNs != identity.mtimeNs
        case .local:
            return true
        }
    }

    private func confirm(_ record: FileRecord, _ identity: FileIdentity) {
        _ = try? engine.queue.confirmSyncedIdentity(path: record.path, generation: record.generation, size: identity.size,
                                                    mtimeNs: identity.mtimeNs, ctimeNs: identity.ctimeNs,
                                                    inode: Int64(bitPattern: identity.inode))
    }
}
