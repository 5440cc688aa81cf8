import Foundation
import RecsyncFS
import RecsyncStore

extension SyncEngine {
    /// `user.sync.status` of a folder: what its files add up to, the least finished winning:
    /// `failed` if any file failed, else `syncing` if any is uploading, else `pending`, else
    /// `local` if any file is not queued (being written, or never closed after a write), else
    /// `synced`, which a folder is only when every file below it is (an empty folder is).
    /// Files with ignored names do not count: they are meant to stay local.
    func folderStatus(_ folder: String) throws -> SyncStatus {
        let records = Dictionary(try queue.records(under: folder).map { (PathKey($0.path), $0.status) }, uniquingKeysWith: { first, _ in first })
        let writing = live.withLock { $0.writing }
        var seen: Set<SyncStatus> = []
        for file in FolderWalk(rootFd: rootFd).files(under: folder) where !ignoreRules.ignores(file) {
            seen.insert(writing.contains(PathKey(file)) ? .local : records[PathKey(file)] ?? .local)
            if seen.contains(.failed) { break }
        }
        for status in [SyncStatus.failed, .syncing, .pending, .local] where seen.contains(status) { return status }
        return .synced
    }
}
