import CSysShims
import Foundation
import Logging
import RecsyncStore

/// Finds files that changed while recsync was not running: new files and synced files whose
/// size or modification time differ from what the server confirmed are queued at NORMAL
/// priority; records of files that no longer exist are dropped.
public struct Scanner: Sendable {
    let engine: SyncEngine
    let logger: Logger

    public init(engine: SyncEngine, logger: Logger) {
        self.engine = engine
        self.logger = logger
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
                if fstatat(engine.rootFd, record.path, &st, recsync_AT_SYMLINK_NOFOLLOW) != 0 && errno == ENOENT {
                    _ = try engine.queue.remove(path: record.path)
                    result.removed += 1
                }
            }
        } catch {
            logger.error("scan could not check the queue", metadata: ["error": "\(error)"])
        }
        if result.queued > 0 { engine.wake() }
        logger.info("scan finished", metadata: ["files": "\(result.seen)", "queued": "\(result.queued)", "dropped": "\(result.removed)"])
        return result
    }

    private func walk(folder: String, result: inout Result) {
        for path in FolderWalk(rootFd: engine.rootFd).files(under: folder) {
            var st = stat()
            guard fstatat(engine.rootFd, path, &st, recsync_AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            result.seen += 1
            check(path: path, stat: st, result: &result)
        }
    }

    private func check(path: String, stat st: stat, result: inout Result) {
        do {
            let record = try engine.queue.record(path: path)
            let changed: Bool
            switch record?.status {
            case .none: changed = true
            case .synced?: changed = record?.syncedSize != Int64(st.st_size) || record?.syncedMtimeNs != st.mtimeNanoseconds
            default: changed = false
            }
            guard changed, !engine.isBeingWritten(path) else { return }
            try engine.enqueue(path: path, priority: .normal)
            result.queued += 1
        } catch {
            logger.error("scan could not queue a file", metadata: ["path": "\(path)", "error": "\(error)"])
        }
    }
}
