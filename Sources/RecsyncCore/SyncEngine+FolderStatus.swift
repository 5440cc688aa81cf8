import FoundationEssentials
import RecsyncFS
import RecsyncStore

extension SyncEngine {
    /// How many files one folder status may check the caller's rights on (see `CallerVisibility`).
    static let folderStatusCheckLimit = 4096
    /// Records read from the queue at a time while looking for one the caller may see.
    static let folderStatusPage = 256

    /// `user.sync.status` of a folder: what the files below it add up to, the least finished
    /// winning: `failed` if any file failed, else `syncing`, else `pending`, else `local` if any
    /// file is not queued (being written, its key could not be made, the queue could not take
    /// it, or not yet reached by the start-up scan), else `synced`, which a folder is only when every file below it is (an
    /// empty folder is). Files with ignored names do not count: they are meant to stay local.
    ///
    /// It is answered from the queue's index and the engine's memory, never by walking the
    /// folder, and counts only files the caller could ask about themselves: the cost follows the
    /// unfinished files looked at, at most `folderStatusCheckLimit` of them.
    func folderStatus(_ folder: String, caller: PassthroughFS.Caller? = nil,
                      checkLimit: Int = folderStatusCheckLimit) throws -> SyncStatus {
        let (writing, unqueued, unscanned) = live.withLock { state in
            (state.writing, state.writing.union(state.keyErrors.keys).union(state.queueFailures), state.awaitingScan)
        }
        var visibility = CallerVisibility(rootFd: rootFd, folder: folder, caller: caller, budget: checkLimit)
        func counts(_ path: String) -> Bool { !ignoreRules.ignores(path) && visibility.sees(path) }
        for status in [SyncStatus.failed, .syncing, .pending, .local] {
            var after: String?
            while true {
                let page = try queue.paths(in: status, under: folder, after: after, limit: Self.folderStatusPage)
                // A file written since it was queued is `local`, whatever its record says.
                if page.contains(where: { !writing.contains(PathKey($0)) && counts($0) }) { return status }
                // Out of checks: this status, whatever the rows not checked hold. So the answer
                // never depends on files the caller could not see past the limit.
                if visibility.budget == 0 { return status }
                guard page.count == Self.folderStatusPage else { break }
                after = page.last
            }
        }
        let inside = unqueued.filter { $0.path.utf8.count > folder.utf8.count && NameCoding.isSameOrInside($0.path, folder) }
        if inside.contains(where: { counts($0.path) }) || visibility.budget == 0 { return .local }
        return unscanned ? .local : .synced
    }

    /// Until `scanFinished`, no folder is `synced`: files that appeared while recsync was not
    /// running have no record yet. The daemon calls this before the mount goes live.
    public func awaitScan() {
        live.withLock { $0.awaitingScan = true }
    }

    /// The start-up scan has queued every file it found.
    public func scanFinished() {
        live.withLock { $0.awaitingScan = false }
    }
}
