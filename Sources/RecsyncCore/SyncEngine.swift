import CSysShims
import FoundationEssentials
import Logging
import RecsyncFS
import RecsyncS3
import RecsyncStore
import Synchronization
import RecsyncPrimitives
import Glibc

/// Settings the engine needs, already validated.
public struct EngineSettings: Sendable {
    public var bucket: String
    public var keyPattern: KeyPattern
    public var userId: String
    public var hostname: String
    public var maxConcurrentUploads: Int
    public var autoSync: Bool
    /// Upload automatically on mobile data / on a metered connection (see `SyncPolicy`).
    public var syncOnMobileData: Bool
    public var syncOnMeteredConnection: Bool
    /// Multipart part size in bytes (grown automatically so no file needs more than 10,000 parts).
    public var chunkSize: Int
    /// Seconds a closed file waits before it may upload.
    public var settleDelay: TimeInterval = 0
    /// Delete objects of deleted files, and old objects of renamed files once the new one is there.
    public var mirrorDeletes = false
    /// File name patterns that are never uploaded (see `IgnoreRules`).
    public var ignorePatterns: [String] = []
    /// Ask the bucket before the first upload of each file (the queue was just made or rebuilt,
    /// so objects of these files may be there already): one with the file's bytes is taken as
    /// it is, another recording's object is never replaced.
    public var lookInBucketFirst = false

    public init(bucket: String, keyPattern: KeyPattern, userId: String, hostname: String,
                maxConcurrentUploads: Int, autoSync: Bool = true, syncOnMobileData: Bool = false,
                syncOnMeteredConnection: Bool = false, chunkSize: Int = 8 * 1024 * 1024) {
        self.bucket = bucket
        self.keyPattern = keyPattern
        self.userId = userId
        self.hostname = hostname
        self.maxConcurrentUploads = maxConcurrentUploads
        self.autoSync = autoSync
        self.syncOnMobileData = syncOnMobileData
        self.syncOnMeteredConnection = syncOnMeteredConnection
        self.chunkSize = chunkSize
    }
}

/// Connects the filesystem to the queue and the uploader: a close after writing queues the
/// file, renames and deletes follow the file, and `user.sync.*` attributes are answered here.
///
/// Locking: `live` guards the in-memory view of files being written and uploaded. It is never
/// held while calling the queue or S3.
public final class SyncEngine: SyncHooks, @unchecked Sendable {
    let queue: SyncQueue
    let settings: EngineSettings
    let logger: Logger
    /// Descriptor of the backing root folder (below the mount), for stat and reading files.
    let rootFd: Int32
    let live = Mutex(LiveState())
    /// Held while a name changes on disk and in the queue (see `namespaceChange`), and while the
    /// uploader decides that a file it could not find is really gone.
    let namespaceLock = Lock()
    /// Set by the uploader so that a queued file wakes it: the argument is when the file may
    /// start (the end of its settle delay), nil for at once.
    let wakeUploader = Mutex<Callback<Date?>?>(nil)
    /// Whether uploads may start: the network and the user's policy.
    public let gate: SyncGate
    /// Scratch and temporary file names that are never uploaded.
    let ignoreRules: IgnoreRules
    /// Receives status changes (see `setStatusHandler`).
    let statusHandler = Mutex<Callback<StatusChange>?>(nil)
    /// The event log's path, for the `user.sync.events` attribute; nil: not told.
    public let eventLogPath = Mutex<String?>(nil)
    /// Receives upload attempts (see `setAttemptObserver`).
    let attemptObserver = Mutex<Callback<UploadAttemptReport>?>(nil)
    /// What the daemon had to do at start that the user should hear of (a lost or damaged queue
    /// rebuilt from a scan); shown by `recsync status` and `user.sync.summary`.
    public let notice = Mutex<String?>(nil)

    struct LiveState {
        /// Files with changes not yet queued (open for writing): reported `local`, never uploaded.
        var writing: Set<PathKey> = []
        /// Files queued whose writer handles the kernel has not released yet: a duplicated
        /// descriptor may still write, so they wait.
        var held: Set<PathKey> = []
        /// Uploads in flight by path.
        var uploads: [PathKey: UploadProgress] = [:]
        /// Files whose key could not be made (for `user.sync.error`).
        var keyErrors: [PathKey: String] = [:]
        /// Files the user asked to upload now while they were still being written: queued
        /// CRITICAL when closed.
        var criticalOnClose: Set<PathKey> = []
        /// Files the queue could not take (its database could not be written): reported `local`,
        /// so no folder holding one says `synced`.
        var queueFailures: Set<PathKey> = []
        /// The start-up scan has not finished: files without a record may exist (see `awaitScan`).
        var awaitingScan = false
        /// Files open for writing by a process recsync cannot see (see `noteUnseenWriter`); also
        /// in `writing` while they are, and looked at again until the writer is gone.
        var unseenWriters: Set<PathKey> = []
        /// Files whose writers were all released, to be asked about once more, and since when: a
        /// shared mapping kept after close writes on unseen (see `noteWritersReleased`).
        var releasedWriters: [PathKey: ContinuousClock.Instant] = [:]
        var watchingUnseenWriters = false
        var stoppedWatching = false
    }

    public init(queue: SyncQueue, settings: EngineSettings, rootFd: Int32, logger: Logger) {
        self.queue = queue
        self.settings = settings
        self.rootFd = rootFd
        self.logger = logger
        self.ignoreRules = IgnoreRules(patterns: settings.ignorePatterns)
        self.gate = SyncGate(policy: SyncPolicy(autoSync: settings.autoSync, syncOnMobileData: settings.syncOnMobileData,
                                                syncOnMeteredConnection: settings.syncOnMeteredConnection))
    }

    // MARK: SyncHooks

    public func fileIsBeingWritten(path: String) {
        let progress = live.withLock { state -> UploadProgress? in
            state.writing.insert(PathKey(path))
            return state.uploads[PathKey(path)]
        }
        // A write while the file uploads: stop that upload, the close will queue it again.
        progress?.cancel()
    }

    public func fileWasWritten(path: String, stillOpen: Bool) throws {
        let critical = live.withLock { state -> Bool in
            if !state.unseenWriters.contains(PathKey(path)) { state.writing.remove(PathKey(path)) }
            if stillOpen { state.held.insert(PathKey(path)) } else { state.held.remove(PathKey(path)) }
            return stillOpen ? state.criticalOnClose.contains(PathKey(path)) : state.criticalOnClose.remove(PathKey(path)) != nil
        }
        // The settle delay absorbs close-and-reopen (a recorder patching its header, an editor's
        // second pass): the upload may start only once the file has been left alone that long.
        let due = critical ? nil : settledAt()
        let stored = try enqueue(path: path, priority: critical ? .critical : .high, dueAt: due)
        if !stillOpen { wake(dueAt: claimedWhenDue(path, stored) ? due : nil) }
    }

    public func fileLinked(path: String) throws {
        guard !isBeingWritten(path) else { return }
        let due = settledAt()
        let stored = try enqueue(path: path, priority: .high, dueAt: due)
        wake(dueAt: claimedWhenDue(path, stored) ? due : nil)
    }

    /// Whether the uploader takes the file queued as `stored` only once its settle delay ended.
    /// One asked for (`sync-now` keeps it CRITICAL) or forced through a pause is taken whatever
    /// its due time, so its close must make the uploader look at once, as it always did.
    private func claimedWhenDue(_ path: String, _ stored: Priority?) -> Bool {
        stored != .critical && !gate.isForced(path)
    }

    /// When a file changed now may start uploading: after the settle delay, or at once without one.
    func settledAt() -> Date? {
        settings.settleDelay > 0 ? Date().addingTimeInterval(settings.settleDelay) : nil
    }

    public func fileOpenedForWriting(path: String) {
        // Until its writers are released the file may change: hold it, and stop an upload in
        // flight (it goes back to pending; the close or the release lets it go again).
        let progress = live.withLock { state -> UploadProgress? in
            state.held.insert(PathKey(path))
            return state.uploads[PathKey(path)]
        }
        if let progress {
            logger.info("file reopened for writing during its upload; it will be uploaded when it is closed", metadata: ["path": "\(path)"])
            progress.cancel()
        }
    }

    public func fileWritersReleased(path: String) {
        // A writer whose writes recsync cannot see made the file `local` when it opened it.
        let wasHeld = live.withLock { state in
            if !state.unseenWriters.contains(PathKey(path)) { state.writing.remove(PathKey(path)) }
            return state.held.remove(PathKey(path)) != nil
        }
        noteWritersReleased(path: path)
        if wasHeld { wake() }
    }

    public func namespaceChange<T>(_ body: () throws -> T) throws -> T {
        namespaceLock.lock()
        defer { namespaceLock.unlock() }
        return try body()
    }

    public func itemRenamed(from: String, to: String, isDirectory: Bool) throws {
        let cancelled = live.withLock { state -> [UploadProgress] in
            // Whatever stood at the destination was replaced: its writers write to a file that
            // no longer has a name (gio save opens the old file, then renames its new one over it).
            state.writing = state.writing.filter { !Self.isSameOrInside($0.path, to) }
            state.held = state.held.filter { !Self.isSameOrInside($0.path, to) }
            state.queueFailures = state.queueFailures.filter { !Self.isSameOrInside($0.path, to) }
            state.unseenWriters = state.unseenWriters.filter { !Self.isSameOrInside($0.path, to) }
            state.releasedWriters = state.releasedWriters.filter { !Self.isSameOrInside($0.key.path, to) }
            state.writing = Set(state.writing.map { PathKey(Self.rebase($0.path, from: from, to: to)) })
            state.held = Set(state.held.map { PathKey(Self.rebase($0.path, from: from, to: to)) })
            state.queueFailures = Set(state.queueFailures.map { PathKey(Self.rebase($0.path, from: from, to: to)) })
            state.unseenWriters = Set(state.unseenWriters.map { PathKey(Self.rebase($0.path, from: from, to: to)) })
            state.releasedWriters = Dictionary(state.releasedWriters.map { (PathKey(Self.rebase($0.key.path, from: from, to: to)), $0.value) },
                                               uniquingKeysWith: { first, _ in first })
            return state.uploads.filter { Self.isSameOrInside($0.key.path, from) || Self.isSameOrInside($0.key.path, to) }.map(\.value)
        }
        cancelled.forEach { $0.cancel() }
        gate.renameForced(from: from, to: to)
        let replaced = isDirectory ? nil : try queue.record(path: to)
        let moved = try queue.rename(from: from, to: to)
        var queued = false
        for record in moved {
            if ignoreRules.ignores(record.path) {
                // Renamed to a scratch name: it leaves the bucket's set, as if deleted.
                try forget(try queue.remove(path: record.path))
                continue
            }
            // The key follows the name: a file not yet uploaded simply takes its new key; a
            // synced one gets the new key too, and its object is copied there on the server.
            let priority = Priority(rawValue: record.priority) ?? .high
            // Renamed over a queued file: the new bytes replace that file's object under its key.
            let overwrite = replaced != nil && NameCoding.same(record.path, to) && NameCoding.same(record.s3Key, replaced?.s3Key ?? "")
            try enqueue(path: record.path, priority: record.status == .synced ? .high : priority, newKey: !overwrite,
                        createdAt: record.createdAt)
            queued = true
        }
        if !isDirectory && moved.isEmpty && ignoreRules.ignores(from) && !ignoreRules.ignores(to) && !isBeingWritten(to) {
            // A temporary file renamed to its final name (rsync, editors, gio copy, a browser's
            // .part file): only now is it a recording.
            try enqueue(path: to, priority: .high)
            queued = true
        }
        if queued { wake() }
    }

    /// renameat2 with RENAME_EXCHANGE: each name now stands for what the other did. Every file
    /// now at or below either name is queued again under that name's key and uploaded from its
    /// local bytes (never copied on the server: the two objects would be read and written at
    /// once); records whose path no longer holds a file are dropped.
    public func itemsExchanged(_ first: String, _ second: String) throws {
        let cancelled = live.withLock { state -> [UploadProgress] in
            func swapped(_ key: PathKey) -> PathKey {
                if Self.isSameOrInside(key.path, first) { return PathKey(Self.rebase(key.path, from: first, to: second)) }
                if Self.isSameOrInside(key.path, second) { return PathKey(Self.rebase(key.path, from: second, to: first)) }
                return key
            }
            state.writing = Set(state.writing.map(swapped))
            state.held = Set(state.held.map(swapped))
            state.queueFailures = Set(state.queueFailures.map(swapped))
            state.criticalOnClose = Set(state.criticalOnClose.map(swapped))
            state.unseenWriters = Set(state.unseenWriters.map(swapped))
            state.releasedWriters = Dictionary(state.releasedWriters.map { (swapped($0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
            state.keyErrors = Dictionary(state.keyErrors.map { (swapped($0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
            return state.uploads.filter { Self.isSameOrInside($0.key.path, first) || Self.isSameOrInside($0.key.path, second) }.map(\.value)
        }
        cancelled.forEach { $0.cancel() }
        gate.exchangeForced(first, second)
        var gone: [FileRecord] = []
        for record in try queue.records(under: first) + queue.records(under: second) {
            let st = try? Self.stat(rootFd, record.path)
            if st.map({ ($0.st_mode & S_IFMT) != S_IFREG }) ?? true {
                gone += try queue.remove(path: record.path)
            }
        }
        for name in [first, second] {
            guard let st = try? Self.stat(rootFd, name) else { continue }
            let files = (st.st_mode & S_IFMT) == S_IFDIR ? FolderWalk(rootFd: rootFd).files(under: name)
                : (st.st_mode & S_IFMT) == S_IFREG ? [name] : []
            // A file only held open (not written since) is queued now; one with unqueued writes is
            // queued at its last close, as always.
            for file in files where !live.withLock({ $0.writing.contains(PathKey(file)) }) {
                try enqueue(path: file, priority: .high)
            }
        }
        try forget(gone)
        wake()
    }

    public func itemRemoved(path: String, isDirectory: Bool) throws {
        let cancelled = live.withLock { state -> [UploadProgress] in
            state.writing = state.writing.filter { !Self.isSameOrInside($0.path, path) }
            state.held = state.held.filter { !Self.isSameOrInside($0.path, path) }
            state.queueFailures = state.queueFailures.filter { !Self.isSameOrInside($0.path, path) }
            state.unseenWriters = state.unseenWriters.filter { !Self.isSameOrInside($0.path, path) }
            state.releasedWriters = state.releasedWriters.filter { !Self.isSameOrInside($0.key.path, path) }
            state.keyErrors[PathKey(path)] = nil
            return state.uploads.filter { Self.isSameOrInside($0.key.path, path) }.map(\.value)
        }
        cancelled.forEach { $0.cancel() }
        try forget(try queue.remove(path: path))
    }

    /// Files gone from the mount: with `mirror_deletes`, their objects (and the object a
    /// renamed file had under its old key) are deleted on the server by the queue runner.
    func forget(_ removed: [FileRecord]) throws {
        guard settings.mirrorDeletes else { return }
        let keys = removed.filter(\.wasEverUploaded).map(\.s3Key) + removed.compactMap(\.renamedFrom)
        guard !keys.isEmpty else { return }
        try queue.queueDeletes(keys)
        wake()
    }

    // MARK: Queueing

    /// Queues the file at `path` with its current size and time, in one durable transaction.
    /// A file the queue could not take is remembered (`queueFailures`) until it is queued.
    /// Returns the priority the file is queued with (nil: not queued).
    @discardableResult
    func enqueue(path: String, priority: Priority, newKey: Bool = false, createdAt: Date? = nil, dueAt: Date? = nil) throws -> Priority? {
        do {
            let stored = try enqueueNow(path: path, priority: priority, newKey: newKey, createdAt: createdAt, dueAt: dueAt)
            live.withLock { _ = $0.queueFailures.remove(PathKey(path)) }
            return stored
        } catch {
            noteQueueFailure(path: path)
            throw error
        }
    }

    /// A file that should be queued but could not be: `local` until it is.
    func noteQueueFailure(path: String) {
        live.withLock { _ = $0.queueFailures.insert(PathKey(path)) }
    }

    private func enqueueNow(path: String, priority: Priority, newKey: Bool, createdAt: Date?, dueAt: Date?) throws -> Priority? {
        if ignoreRules.ignores(path) {
            logger.debug("not queued: the name matches an ignore pattern", metadata: ["path": "\(path)"])
            return nil
        }
        // A file new to the queue is named by its birth time: read with the stat, on the same
        // descriptor (one statx more for a file the queue knows).
        guard let (st, born) = Beneath.stat(rootFd, path, birth: createdAt == nil) else {
            logger.warning("cannot queue a file that vanished", metadata: ["path": "\(path)"])
            return nil
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let existing = try queue.record(path: path)
        let timestamp = createdAt ?? existing?.createdAt ?? born ?? Date()
        guard let key = renderKey(path: path, timestamp: timestamp) else { return nil }
        let record = try queue.enqueue(path: path, priority: priority, size: Int64(st.st_size), mtimeNs: st.mtimeNanoseconds,
                                       createdAt: timestamp, candidateKey: key, newKey: newKey, dueAt: dueAt)
        if existing?.status != .pending {
            emitStatus(path: path, key: record.s3Key, status: .pending, previous: existing?.status ?? .local,
                       error: nil, attempts: 0)
        }
        logger.debug("queued", metadata: ["path": "\(path)", "key": "\(record.s3Key)", "priority": "\(record.priority)"])
        return Priority(rawValue: record.priority)
    }

    /// The key pattern's key for `path`; nil (logged, and shown as the file's error) when none
    /// can be made, and the file stays local.
    func renderKey(path: String, timestamp: Date) -> String? {
        do {
            let key = try settings.keyPattern.render(KeyContext(userId: settings.userId, relativePath: path,
                                                                timestamp: timestamp, hostname: settings.hostname))
            live.withLock { $0.keyErrors[PathKey(path)] = nil }
            return key
        } catch {
            live.withLock { $0.keyErrors[PathKey(path)] = "\(error)" }
            logger.error("cannot make an S3 key for this file; it stays local", metadata: ["path": "\(path)", "error": "\(error)"])
            return nil
        }
    }

    /// Tells the uploader that something was queued or asked for; `dueAt`: not before then.
    func wake(dueAt: Date? = nil) {
        wakeUploader.withLock { $0 }?(dueAt)
    }

    func isBeingWritten(_ path: String) -> Bool {
        live.withLock { $0.writing.contains(PathKey(path)) || $0.held.contains(PathKey(path)) }
    }

    // MARK: Helpers

    static func stat(_ rootFd: Int32, _ path: String) throws -> stat {
        var st = Glibc.stat()
        if Beneath.stat(rootFd, path, &st) != 0 {
            throw FSError.fromErrnoPublic("stat", path)
        }
        return st
    }

    /// Byte for byte (`NameCoding`): `café` in NFC is not inside `café` in NFD.
    static func isSameOrInside(_ path: String, _ folder: String) -> Bool {
        NameCoding.isSameOrInside(path, folder)
    }

    static func rebase(_ path: String, from: String, to: String) -> String {
        NameCoding.rebase(path, from: from, to: to)
    }
}

extension stat {
    var ctimeNanoseconds: Int64 { Int64(st_ctim.tv_sec) * 1_000_000_000 + Int64(st_ctim.tv_nsec) }
}
