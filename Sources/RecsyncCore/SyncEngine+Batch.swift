import FoundationEssentials
import RecsyncFS
import Logging
import RecsyncStore
import Glibc

extension SyncEngine {
    /// Queues many files at once, each as `enqueue(path:priority:)` would, with one queue
    /// transaction for all of them (the start-up scan). `stat` and `known` are each file's
    /// attributes and record as the caller just read them (nil: no record); a file whose record
    /// changed since is left alone. Returns how many were queued. When the batch cannot be stored,
    /// each file is queued on its own, so one bad file costs only itself.
    func enqueueBatch(_ paths: [(path: String, stat: stat, known: FileRecord?)], priority: Priority) -> Int {
        let requests = paths.compactMap { enqueueRequest(path: $0.path, stat: $0.stat, priority: priority, existing: $0.known) }
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

    /// What `enqueue` would store for `path`, whose `st` the caller just took (nil: nothing, as
    /// `enqueueNow` decides: an ignored name, not a regular file, no key can be made).
    private func enqueueRequest(path: String, stat st: stat, priority: Priority, existing: FileRecord?) -> SyncQueue.EnqueueRequest? {
        // The walk may have taken a while since the file was looked at: one opened for writing
        // meanwhile is queued by its last close instead.
        if ignoreRules.ignores(path) || isBeingWritten(path) { return nil }
        guard (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let timestamp = existing?.createdAt ?? Self.birthTime(rootFd, path) ?? Date()
        guard let key = renderKey(path: path, timestamp: timestamp) else { return nil }
        return SyncQueue.EnqueueRequest(path: path, priority: priority, size: Int64(st.st_size), mtimeNs: st.mtimeNanoseconds,
                                        createdAt: timestamp, candidateKey: key, knownGeneration: existing?.generation)
    }
}
