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
        let fd = openat(engine.rootFd, folder.isEmpty ? "." : folder, O_RDONLY | recsync_O_DIRECTORY | O_CLOEXEC | recsync_O_NOFOLLOW)
        guard fd >= 0, let stream = fdopendir(fd) else {
            if fd >= 0 { close(fd) }
            logger.warning("scan cannot read a folder", metadata: ["folder": "\(folder)"])
            return
        }
        defer { closedir(stream) }
        var folders: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                // Safe: d_name is a NUL-terminated array inside the dirent that readdir returned.
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name == "." || name == ".." { continue }
            let path = folder.isEmpty ? name : folder + "/" + name
            var st = stat()
            guard fstatat(engine.rootFd, path, &st, recsync_AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR: folders.append(path)
            case S_IFREG:
                result.seen += 1
                check(path: path, stat: st, result: &result)
            default: continue
            }
        }
        for child in folders { walk(folder: child, result: &result) }
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
