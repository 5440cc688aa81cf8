import FoundationEssentials
import RecsyncFS
import Logging
import RecsyncStore
import Glibc

extension SyncEngine {
    /// A file the start-up scan found to queue: its attributes, birth time (when the filesystem
    /// records it) and record (nil: none), as the scan just read them.
    struct Found {
        var path: String
        var stat: stat
        var born: Date?
        var known: FileRecord?
    }

    /// Queues many files at once, each as `enqueue(path:priority:)` would, with one queue
    /// transaction for all of them (the start-up scan). A file whose record changed since the
    /// scan read it is left alone. Returns how many were queued. When the batch cannot be stored,
    /// each file is queued on its own, so one bad file costs only itself.
    func enqueueBatch(_ paths: [Found], priority: Priority) -> Int {
        let requests = paths.compactMap { enqueueRequest($0, priority: priority) }
        // As `enqueue` does for each file it was asked to queue, stored or left alone.
        live.withLock { state in
            for item in paths { _ = state.queueFailures.remove(PathKey(item.path)) }
        }
        let records: [(record: FileRecord, previous: SyncStatus?)]
        do {
            records = try queue.enqueue(requests)
        } catch {
            logger.notice("a batch of files could not be queued at once; queueing them one by one",
                          metadata: ["files": "\(requests.count)", "error": "\(error)"])
            var queued = 0
            for request in requests {
                do {
                    try enqueue(path: request.path, priority: priority)
                    queued += 1
                } catch {
                    logger.error("cannot queue a file", metadata: ["path": "\(request.path)", "error": "\(error)"])
                }
            }
            return queued
        }
        for (record, before) in records where before != .pending {
            emitStatus(path: record.path, key: record.s3Key, status: .pending, previous: before ?? .local, error: nil, attempts: 0)
        }
        return records.count
    }

    /// What `enqueue` would store for the file found (nil: nothing, as `enqueueNow` decides: an
    /// ignored name, not a regular file, no key can be made).
    private func enqueueRequest(_ found: Found, priority: Priority) -> SyncQueue.EnqueueRequest? {
        let (path, st, existing) = (found.path, found.stat, found.known)
        // The walk may have taken a while since the file was looked at: one opened for writing
        // meanwhile is queued by its last close instead.
        if ignoreRules.ignores(path) || isBeingWritten(path) { return nil }
        guard (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let timestamp = existing?.createdAt ?? found.born ?? Date()
        guard let key = renderKey(path: path, timestamp: timestamp) else { return nil }
        return SyncQueue.EnqueueRequest(path: path, priority: priority, size: Int64(st.st_size), mtimeNs: st.mtimeNanoseconds,
                                        createdAt: timestamp, candidateKey: key, knownGeneration: existing?.generation)
    }
}
