// The durable upload queue: one SQLite file (WAL, synchronous=NORMAL, the log synced
// within a second by WALSyncer) that
// records every file to upload and where its upload stands.
//
// Lock rule: `lock` guards `db` and `ownerLock`. Every method that touches
// either takes `lock` for its whole duration (see `locked`), so at most one
// thread uses the SQLite connection at a time and each public call is one
// SQLite transaction. `recoveredOnOpen` is written only in `init`. `now` and
// `databasePath` are immutable. Nothing here calls out to user code while
// holding the lock except the injected clock, which must not call back.
//
// State machine of `files.status` (no record means `local`):
//
//           local (no record)
//                │ enqueue
//                ▼
//     ┌────► pending ◄─────────┐  markAttemptFailed  attempts+1 if counted, retry time
//     │          │ claim       │  release            nothing counted
//     │          ▼             │  enqueue            file changed: generation+1
//     │       syncing ─────────┘  rename             moved while syncing: generation+1
//     │        │   │              reopen             crash recovery, nothing counted
//     │        │   └─ markFailed ─► failed
//     │        │ markSynced           │
//     │        ▼                      │
//     │      synced                   │
//     │        │                      │
//     └────────┴───── enqueue ────────┘
//
//   claim takes due pending items: highest priority, then oldest enqueuedAt.
//
// Every enqueue bumps `generation`. A worker's result (markSynced,
// markAttemptFailed, markFailed, release) names the (path, generation) it
// claimed and applies only while the record still has that generation and is
// `syncing`; otherwise it is ignored and the call returns false. So a file
// rewritten during its upload stays pending and is uploaded again.
//
// Keys: every record holds a unique `s3_key`. A key that may hold an object
// (the record was uploaded once, or an upload was in flight) is moved to
// `retired_keys` when the record is removed or takes a new key, and is never
// reserved again. See docs/QUEUE.md for the collision rule.

import CSQLite3
import FoundationEssentials
import RecsyncPrimitives

/// The durable, thread-safe upload queue backed by one SQLite file.
///
/// One process owns the file: a second `SyncQueue` on the same path, in this
/// process or another, fails with `StoreError.inUse` until the first is closed.
public final class SyncQueue: @unchecked Sendable {
    /// The SQLite file this queue owns.
    public let databasePath: String
    /// How many `syncing` records were put back to `pending` when the queue was opened
    /// (uploads interrupted by a crash or a kill).
    public private(set) var recoveredOnOpen: Int

    let now: @Sendable () -> Date
    let lock = Lock()
    let db: SQLiteDatabase
    /// What `record(path:)` read since the last change (guarded by `lock`).
    var recentRecords = RecentRecords()
    private let ownerLock: OwnerLock
    /// Syncs the write-ahead log once a second while commits come in (see `WALSyncer`).
    private(set) var walSyncer: WALSyncer?

    /// Opens the queue at `databasePath`, creating the file and its directory if needed,
    /// applying pending schema migrations, and putting every `syncing` record back to
    /// `pending` without counting an attempt.
    ///
    /// - Parameters:
    ///   - databasePath: the SQLite file, for example `<state-dir>/queue.sqlite`.
    ///   - now: the clock used for `enqueuedAt`, `syncedAt` and retry times; injectable for tests.
    public init(databasePath: String, now: @escaping @Sendable () -> Date = { Date() }) throws {
        self.databasePath = databasePath
        self.now = now
        let directory = PathText.parent(databasePath)
        if !directory.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw StoreError.cannotOpen(
                    path: databasePath,
                    reason: "cannot create directory \(directory) (\(errorText(error)))",
                    code: SQLITE_CANTOPEN)
            }
        }
        ownerLock = try OwnerLock(databasePath: databasePath)
        db = try SQLiteDatabase(path: databasePath)
        try Self.configure(db)
        try Migrations.migrate(db, now: now())
        recoveredOnOpen = try db.run(
            "UPDATE files SET status = 'pending', interrupted = 1 WHERE status = 'syncing'",
            operation: "recover interrupted uploads")
        walSyncer = WALSyncer(databasePath: databasePath) { [weak self] in
            guard let self else { return nil }
            return self.locked { self.db.isOpen ? self.db.totalChanges : nil }
        }
    }

    deinit { close() }

    /// Closes the database and releases ownership of the file. Idempotent.
    /// Later calls on this queue throw `StoreError.closed`.
    public func close() {
        walSyncer?.stop()
        locked {
            db.close()
            ownerLock.release()
        }
    }

    private static func configure(_ db: SQLiteDatabase) throws {
        let mode = try db.queryFirst("PRAGMA journal_mode = WAL", operation: "enable write-ahead logging") {
            $0.text(0)
        } ?? "unknown"
        guard mode.lowercased() == "wal" else {
            throw StoreError.walUnavailable(path: db.path, journalMode: mode)
        }
        // NORMAL: a commit is in the log when it returns and survives a crash of recsync; the
        // WALSyncer brings it to the disk within a second (no disk sync inside a close()).
        try db.execute("""
            PRAGMA synchronous = NORMAL;
            PRAGMA busy_timeout = 5000;
            PRAGMA foreign_keys = ON;
            """, operation: "configure the connection")
    }

    /// Runs `body` holding the lock (see the lock rule at the top of this file).
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    // MARK: - Enqueue

    /// Queues `path` for upload, in one transaction.
    ///
    /// Creates or updates the record: `generation += 1`; `status = pending`; `attempts = 0`;
    /// `nextAttemptAt`, `lastError` cleared; `size`/`mtimeNs` updated. If the record was
    /// already queued (`pending` or `syncing`) it keeps its place: `priority` becomes the
    /// higher of the two and `enqueuedAt` is kept; otherwise `priority` is the given one and
    /// `enqueuedAt` is now. `createdAt` is kept if the record exists.
    ///
    /// Key: an existing record keeps its key unless `newKey` is true. Otherwise
    /// `candidateKey` is reserved; if another record holds it or it is retired, the first free
    /// of `-2`, `-3`, ... is inserted before the extension of its last segment. With
    /// `newKey`, the old key is retired if it may hold an object, else released; a record with
    /// an uploaded version then remembers it as `renamedFrom` (with its ETag) until it is synced
    /// again.
    ///
    /// `dueAt` (the settle delay after a close) makes the item claimable only from then on;
    /// nil means at once.
    ///
    /// - Returns: the record as stored.
    public func enqueue(
        path: String, priority: Priority, size: Int64, mtimeNs: Int64, createdAt: Date,
        candidateKey: String, newKey: Bool = false, dueAt: Date? = nil
    ) throws -> FileRecord {
        try Self.validateEnqueue(path: path, candidateKey: candidateKey)
        return try locked {
            let nowNs = StoredTime.nanoseconds(now())
            return try db.transaction(operation: "enqueue \(path)") {
                try enqueueInTransaction(path: path, existing: try fetch(path), priority: priority, size: size, mtimeNs: mtimeNs,
                                         createdAt: createdAt, candidateKey: candidateKey, newKey: newKey, dueAt: dueAt,
                                         nowNs: nowNs).record
            }
        }
    }

    /// What `enqueue(_:)` queues for one file: the arguments of `enqueue(path:...)`.
    public struct EnqueueRequest: Sendable {
        public var path: String
        public var priority: Priority
        public var size: Int64
        public var mtimeNs: Int64
        public var createdAt: Date
        public var candidateKey: String
        public var dueAt: Date?
        /// The generation of the record the caller looked at, nil for none: a file whose record
        /// changed since (a close queued it meanwhile) is left as that change made it.
        public var knownGeneration: Int64?

        public init(path: String, priority: Priority, size: Int64, mtimeNs: Int64, createdAt: Date, candidateKey: String,
                    dueAt: Date? = nil, knownGeneration: Int64? = nil) {
            self.path = path
            self.priority = priority
            self.size = size
            self.mtimeNs = mtimeNs
            self.createdAt = createdAt
            self.candidateKey = candidateKey
            self.dueAt = dueAt
            self.knownGeneration = knownGeneration
        }
    }

    /// Queues many files in one transaction, each exactly as `enqueue(path:...)` would (a start-up
    /// scan queues thousands: one commit for a batch instead of one per file). All or none: when
    /// one fails, nothing of the batch is stored and the error is thrown (the caller may then
    /// queue them one by one to learn which). Returns the records queued, in the order of
    /// `requests`, each with the status it had before (nil: it had no record); a file whose
    /// record is no longer the one its request knew is left out.
    public func enqueue(_ requests: [EnqueueRequest]) throws -> [(record: FileRecord, previous: SyncStatus?)] {
        for request in requests { try Self.validateEnqueue(path: request.path, candidateKey: request.candidateKey) }
        guard !requests.isEmpty else { return [] }
        return try locked {
            let nowNs = StoredTime.nanoseconds(now())
            return try db.transaction(operation: "enqueue \(requests.count) files") {
                try requests.compactMap { request in
                    let existing = try fetch(request.path)
                    guard existing?.generation == request.knownGeneration else { return nil }
                    return try enqueueInTransaction(path: request.path, existing: existing, priority: request.priority, size: request.size,
                                                    mtimeNs: request.mtimeNs, createdAt: request.createdAt,
                                                    candidateKey: request.candidateKey, newKey: false, dueAt: request.dueAt,
                                                    nowNs: nowNs)
                }
            }
        }
    }

    /// What every enqueue checks before it writes: a valid path and a key.
    private static func validateEnqueue(path: String, candidateKey: String) throws {
        try PathRules.validate(path)
        guard !candidateKey.isEmpty else {
            throw StoreError.invalidKey(candidateKey, reason: "the key is empty")
        }
    }

    /// The body of `enqueue`, inside the caller's transaction and lock.
    /// `existing` is the record of `path` as read in the same transaction.
    private func enqueueInTransaction(path: String, existing: FileRecord?, priority: Priority, size: Int64, mtimeNs: Int64,
                                      createdAt: Date, candidateKey: String, newKey: Bool, dueAt: Date?,
                                      nowNs: Int64) throws -> (record: FileRecord, previous: SyncStatus?) {
        let due: SQLValue = dueAt.map { .int(StoredTime.nanoseconds($0)) } ?? .null
        if let existing {
            var key = existing.s3Key
            // A synced file taking a new key (renamed) remembers its object's old key;
            // one renamed again before it was synced keeps the first.
            var renamedFrom: (key: String, etag: String)? = existing.renamedFrom.map { ($0, existing.renamedFromETag ?? "") }
            if newKey {
                if renamedFrom == nil, let etag = existing.etag { renamedFrom = (existing.s3Key, etag) }
                try releaseKey(of: existing, at: nowNs)
                key = try reserveKey(candidateKey, for: path)
            }
            try db.run("UPDATE files SET renamed_from = ?, renamed_from_etag = ? WHERE path = ?",
                       [renamedFrom.map { .text($0.key) } ?? .null, renamedFrom.map { .text($0.etag) } ?? .null,
                        .text(path)], operation: "enqueue \(path)")
            try db.run("""
                UPDATE files SET
                    priority = CASE WHEN status IN ('pending', 'syncing')
                                    THEN max(priority, ?1) ELSE ?1 END,
                    enqueued_at = CASE WHEN status IN ('pending', 'syncing')
                                       THEN enqueued_at ELSE ?2 END,
                    status = 'pending',
                    generation = generation + 1,
                    s3_key = ?3,
                    attempts = 0,
                    next_attempt_at = ?7,
                    last_error = NULL,
                    size = ?4,
                    mtime_ns = ?5
                WHERE path = ?6
                """,
                [.int(priority.rawValue), .int(nowNs), .text(key), .int(size), .int(mtimeNs), .text(path), due],
                operation: "enqueue \(path)")
        } else {
            let key = try reserveKey(candidateKey, for: path)
            try db.run("""
                INSERT INTO files (path, status, priority, generation, s3_key, attempts,
                                   size, mtime_ns, created_at, enqueued_at, next_attempt_at)
                VALUES (?, 'pending', ?, 1, ?, 0, ?, ?, ?, ?, ?)
                """,
                [.text(path), .int(priority.rawValue), .text(key), .int(size), .int(mtimeNs),
                 .int(StoredTime.nanoseconds(createdAt)), .int(nowNs), due],
                operation: "enqueue \(path)")
        }
        guard let stored = try fetch(path) else {
            throw StoreError.sqlite(
                operation: "enqueue \(path)", path: databasePath, code: SQLITE_INTERNAL,
                message: "the record vanished inside its own transaction")
        }
        return (stored, existing?.status)
    }

    // MARK: - Workers

    /// Marks up to `limit` due pending items `syncing` and returns them (in one transaction).
    ///
    /// Due means `status == pending` and `nextAttemptAt` is nil or not after now; a CRITICAL item
    /// (priority 10, the user asked for it) is due at once, whatever its backoff. Items come
    /// highest priority first, then oldest `enqueuedAt`; paths in `excluding` and items below
    /// `minimumPriority` are skipped.
    /// Each returned record carries the generation the worker must pass back.
    public func claim(limit: Int, excluding: [String] = [], minimumPriority: Int = 0) throws -> [FileRecord] {
        guard limit > 0 else { return [] }
        // Byte for byte: a `Set<String>` would take `café` in NFC and in NFD as one path.
        let excluded = Set(excluding.map { Array($0.utf8) })
        return try locked {
            let nowNs = StoredTime.nanoseconds(now())
            return try db.transaction(operation: "claim uploads") {
                // Records whose retry time has come become ready (no retry time), so that the
                // pick below reads only the head of an index, however many records wait.
                try db.run("UPDATE files SET next_attempt_at = NULL WHERE status = 'pending' AND next_attempt_at <= ?",
                           [.int(nowNs)], operation: "claim uploads")
                let wanted = limit + excluding.count
                var candidates = try db.query("""
                    SELECT \(FileRecord.columns) FROM files INDEXED BY files_due
                    WHERE status = 'pending' AND next_attempt_at IS NULL AND priority >= ?
                    ORDER BY priority DESC, enqueued_at, rowid
                    LIMIT ?
                    """, [.int(minimumPriority), .int(wanted)], operation: "claim uploads", FileRecord.init(row:))
                // A CRITICAL record (the user asked for it) goes whatever its backoff.
                if minimumPriority <= Priority.critical.rawValue {
                    let critical = try db.query("""
                        SELECT \(FileRecord.columns) FROM files INDEXED BY files_claim
                        WHERE status = 'pending' AND priority >= ? AND next_attempt_at IS NOT NULL
                        ORDER BY priority DESC, enqueued_at, rowid
                        LIMIT ?
                        """, [.int(Priority.critical.rawValue), .int(wanted)], operation: "claim uploads", FileRecord.init(row:))
                    if !critical.isEmpty {
                        candidates = (critical + candidates).enumerated().sorted { a, b in
                            if a.element.priority != b.element.priority { return a.element.priority > b.element.priority }
                            if a.element.enqueuedAt != b.element.enqueuedAt { return a.element.enqueuedAt < b.element.enqueuedAt }
                            return a.offset < b.offset
                        }.map(\.element)
                    }
                }
                var claimed: [FileRecord] = []
                for var record in candidates where !excluded.contains(Array(record.path.utf8)) {
                    if claimed.count == limit { break }
                    try db.run("UPDATE files SET status = 'syncing' WHERE path = ?", [.text(record.path)],
                               operation: "claim \(record.path)")
                    record.status = .syncing
                    claimed.append(record)
                }
                return claimed
            }
        }
    }

    /// The server confirmed the upload: `syncing -> synced`, recording `etag`, now as `syncedAt`,
    /// and the confirmed identity of the file (`size`, `mtimeNs`, `ctimeNs`, `inode`);
    /// `lastError` is cleared. Applies only if the record is `syncing` with this `generation`.
    /// - Returns: whether it applied.
    @discardableResult
    public func markSynced(path: String, generation: Int64, etag: String, size: Int64, mtimeNs: Int64,
                           ctimeNs: Int64? = nil, inode: Int64? = nil) throws -> Bool {
        try finish(path, generation, operation: "mark \(path) synced", set: """
            status = 'synced', etag = ?, synced_at = ?, synced_size = ?, synced_mtime_ns = ?,
            synced_ctime_ns = ?, synced_inode = ?,
            last_error = NULL, next_attempt_at = NULL, interrupted = 0, upload_id = NULL, part_size = NULL,
            renamed_from = NULL, renamed_from_etag = NULL, checksum = NULL
            """) { nowNs in [.text(etag), .int(nowNs), .int(size), .int(mtimeNs), .optionalInt(ctimeNs), .optionalInt(inode)] }
    }

    /// A synced file whose ctime or inode moved was hashed again and still holds the confirmed
    /// bytes (a chmod, a rename, a copy with its times kept): record its identity now, so the
    /// next check needs no hashing. Applies only while the record is `synced` with this
    /// `generation` and the confirmed size and mtime. Returns whether it applied.
    @discardableResult
    public func confirmSyncedIdentity(path: String, generation: Int64, size: Int64, mtimeNs: Int64,
                                      ctimeNs: Int64, inode: Int64) throws -> Bool {
        try locked {
            try db.run("""
                UPDATE files SET synced_ctime_ns = ?, synced_inode = ?
                WHERE path = ? AND generation = ? AND status = 'synced' AND synced_size = ? AND synced_mtime_ns = ?
                """, [.int(ctimeNs), .int(inode), .text(path), .int(generation), .int(size), .int(mtimeNs)],
                operation: "confirm the identity of \(path)") == 1
        }
    }

    /// The attempt failed but may succeed later: `syncing -> pending` with `lastError` and
    /// `nextAttemptAt = retryAt` (nil: claimable at once); `attempts += 1` only if `countAttempt`.
    /// Applies only if the record is `syncing` with this `generation`.
    /// - Returns: whether it applied.
    @discardableResult
    public func markAttemptFailed(path: String, generation: Int64, error: String, retryAt: Date?, countAttempt: Bool) throws -> Bool {
        try finish(path, generation, operation: "record a failed attempt for \(path)", set: """
            status = 'pending', last_error = ?, next_attempt_at = ?, attempts = attempts + ?
            """) { _ in
            [.text(error), .optionalInt(retryAt.map(StoredTime.nanoseconds)), .int(countAttempt ? 1 : 0)]
        }
    }

    /// The upload failed permanently: `syncing -> failed` with `lastError`; the attempt is
    /// counted. Only a new enqueue makes the file pending again.
    /// Applies only if the record is `syncing` with this `generation`.
    /// - Returns: whether it applied.
    @discardableResult
    public func markFailed(path: String, generation: Int64, error: String) throws -> Bool {
        try finish(path, generation, operation: "mark \(path) failed", set: """
            status = 'failed', last_error = ?, next_attempt_at = NULL, attempts = attempts + 1
            """) { _ in [.text(error)] }
    }

    /// Gives the claim back without counting anything: `syncing -> pending`, claimable at once
    /// (the upload was cancelled, or the file is open for writing again).
    /// Applies only if the record is `syncing` with this `generation`.
    /// - Returns: whether it applied.
    @discardableResult
    public func release(path: String, generation: Int64) throws -> Bool {
        try finish(path, generation, operation: "release \(path)", set: """
            status = 'pending', next_attempt_at = NULL
            """) { _ in [] }
    }

    /// One guarded `syncing -> ...` transition; `arguments` fill the `?` of `set`.
    private func finish(
        _ path: String, _ generation: Int64, operation: String, set: String,
        arguments: (Int64) -> [SQLValue]
    ) throws -> Bool {
        try locked {
            let nowNs = StoredTime.nanoseconds(now())
            let changed = try db.run(
                "UPDATE files SET \(set) WHERE path = ? AND generation = ? AND status = 'syncing'",
                arguments(nowNs) + [.text(path), .int(generation)], operation: operation)
            return changed == 1
        }
    }

    // MARK: - Shared helpers (call with the lock held, inside a transaction)

    func fetch(_ path: String) throws -> FileRecord? {
        try db.queryFirst("SELECT \(FileRecord.columns) FROM files WHERE path = ?", [.text(path)],
                          operation: "read the record of \(path)", FileRecord.init(row:))
    }

    /// Reserves `candidate`, or the first free numbered variant, for the record at `path`.
    func reserveKey(_ candidate: String, for path: String) throws -> String {
        guard try db.queryFirst("""
            SELECT 1 FROM files WHERE s3_key = ?1 AND path <> ?2
            UNION ALL
            SELECT 1 FROM retired_keys WHERE s3_key = ?1
            LIMIT 1
            """, [.text(candidate), .text(path)], operation: "reserve key \(candidate)", { _ in true }) != nil else {
            return candidate
        }
        // Taken: the first free number. The numbered keys taken so far are read in one go (every
        // key that starts with the stem and "-" lies in one range of the key indexes), so the
        // hundredth `take1.wav` costs one query, not a hundred.
        let (stem, suffix) = KeyNaming.parts(candidate)
        let low = stem + "-", high = stem + "."  // "." follows "-": the range holds exactly the keys starting with low
        let taken = try db.query("""
            SELECT s3_key FROM files WHERE s3_key >= ?1 AND s3_key < ?2 AND path <> ?3
            UNION ALL
            SELECT s3_key FROM retired_keys WHERE s3_key >= ?1 AND s3_key < ?2
            """, [.text(low), .text(high), .text(path)], operation: "reserve key \(candidate)") { $0.text(0) }
        let numbers = Set(taken.compactMap { KeyNaming.number(of: $0, stem: stem, suffix: suffix) })
        var number = 2
        while numbers.contains(number) { number += 1 }
        return KeyNaming.numbered(candidate, number)
    }

    /// Gives up the record's current key: retired if an object may exist under it
    /// (uploaded once, or an upload in flight), else simply released.
    func releaseKey(of record: FileRecord, at nowNs: Int64) throws {
        guard record.wasEverUploaded || record.status == .syncing else { return }
        try db.run("""
            INSERT OR IGNORE INTO retired_keys (s3_key, path, etag, retired_at) VALUES (?, ?, ?, ?)
            """, [.text(record.s3Key), .text(record.path), .optionalText(record.etag), .int(nowNs)],
            operation: "retire key \(record.s3Key)")
    }

    /// Deletes a record, retiring its key if needed.
    func delete(_ record: FileRecord, at nowNs: Int64) throws {
        try releaseKey(of: record, at: nowNs)
        try db.run("DELETE FROM files WHERE path = ?", [.text(record.path)], operation: "remove \(record.path)")
    }

    /// The record at `path` (if any) followed by every record under `path/`, by path.
    func fetchTree(_ path: String) throws -> [FileRecord] {
        let inside = try db.query(
            "SELECT \(FileRecord.columns) FROM files WHERE \(PathRules.insideFolderCondition) ORDER BY path",
            PathRules.insideFolderArguments(path), operation: "read records under \(path)/",
            FileRecord.init(row:))
        return try (fetch(path).map { [$0] } ?? []) + inside
    }
}
