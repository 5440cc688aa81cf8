import Foundation
import RecsyncFS
import Logging
import RecsyncStore

extension SyncEngine {
    /// Queues many files at once, each as `enqueue(path:priority:)` would, with one queue
    /// transaction for all of them (the start-up scan). `known` are their records as the caller
    /// just read them (nil: none), for their recording time. Returns how many were queued. When the batch cannot be stored,
    /// each file is queued on its own, so one bad file costs only itself.
    func enqueueBatch(_ paths: [(path: String, known: FileRecord?)], priority: Priority) -> Int {
        let requests = paths.compactMap { enqueueRequest(path: $0.path, priority: priority, existing: $0.known) }
        // As `enqueue` does for each file it was asked to queue, stored or left alone.
        live.withLock { state in
            for (path, _) in paths { _ = state.queueFailures.remove(PathKey(path)) }
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

    /// What `enqueue` would store for `path` (nil: nothing, as `enqueueNow` decides: an ignored
    /// name, a file gone or not regular, no key can be made).
    private func enqueueRequest(path: String, priority: Priority, existing: FileRecord?) -> SyncQueue.EnqueueRequest? {
        // The walk may have taken a while since the file was looked at: one opened for writing
        // meanwhile is queued by its last close instead.
        if ignoreRules.ignores(path) || isBeingWritten(path) { return nil }
        guard let st = try? Self.stat(rootFd, path), (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let timestamp = existing?.createdAt ?? Self.birthTime(rootFd, path) ?? Date()
        guard let key = renderKey(path: path, timestamp: timestamp) else { return nil }
        return SyncQueue.EnqueueRequest(path: path, priority: priority, size: Int64(st.st_size), mtimeNs: st.mtimeNanoseconds,
                                        createdAt: timestamp, candidateKey: key, knownGeneration: existing?.generation)
    }
}
