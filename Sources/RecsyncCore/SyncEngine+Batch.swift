import Foundation
import RecsyncFS
import Logging
import RecsyncStore

extension SyncEngine {
    /// Queues many files at once, each as `enqueue(path:priority:)` would, with one queue
    /// transaction for all of them (the start-up scan). `known` are their records as the caller
    /// just read them (nil: none). Returns how many were queued. When the batch cannot be stored,
    /// each file is queued on its own, so one bad file costs only itself.
    func enqueueBatch(_ paths: [(path: String, known: FileRecord?)], priority: Priority) -> Int {
        var requests: [SyncQueue.EnqueueRequest] = []
        var previous: [SyncStatus] = []
        for (path, known) in paths {
            guard let request = enqueueRequest(path: path, priority: priority, existing: known) else { continue }
            requests.append(request)
            previous.append(known?.status ?? .local)
        }
        let records: [FileRecord]
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
        live.withLock { state in
            for record in records { _ = state.queueFailures.remove(PathKey(record.path)) }
        }
        for (record, before) in zip(records, previous) where before != .pending {
            emitStatus(path: record.path, key: record.s3Key, status: .pending, previous: before, error: nil, attempts: 0)
        }
        return records.count
    }

    /// What `enqueue` would store for `path` (nil: nothing, as `enqueueNow` decides: an ignored
    /// name, a file gone or not regular, no key can be made).
    private func enqueueRequest(path: String, priority: Priority, existing: FileRecord?) -> SyncQueue.EnqueueRequest? {
        if ignoreRules.ignores(path) { return nil }
        guard let st = try? Self.stat(rootFd, path), (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let timestamp = existing?.createdAt ?? Self.birthTime(rootFd, path) ?? Date()
        guard let key = renderKey(path: path, timestamp: timestamp) else { return nil }
        return SyncQueue.EnqueueRequest(path: path, priority: priority, size: Int64(st.st_size), mtimeNs: st.mtimeNanoseconds,
                                        createdAt: timestamp, candidateKey: key)
    }
}
