// Read-only views of the queue, for `user.sync.*` attributes and status output.
// Lock rule: as in SyncQueue.swift, every method holds `lock` for its whole duration.

import FoundationEssentials

extension SyncQueue {
    /// The record at `path`, or nil if the file is not queued (status `local`).
    public func record(path: String) throws -> FileRecord? {
        try PathRules.validate(path)
        return try locked {
            guard db.isOpen else { return try fetch(path) }  // which says it is closed
            let changes = db.totalChanges
            let bytes = Array(path.utf8)
            if let known = recentRecords.lookup(bytes, changes: changes) { return known }
            let record = try fetch(path)
            recentRecords.store(record, for: bytes, changes: changes)
            return record
        }
    }

    /// The record at `folder` (if any) and every record under `folder/`, ordered by path.
    /// An empty `folder` means every record.
    public func records(under folder: String) throws -> [FileRecord] {
        if folder.isEmpty {
            return try locked {
                try db.query("SELECT \(FileRecord.columns) FROM files ORDER BY path",
                             operation: "list records", FileRecord.init(row:))
            }
        }
        try PathRules.validate(folder)
        return try locked { try fetchTree(folder) }
    }

    /// Up to `limit` paths of records in `status` strictly under `folder` (every record for an
    /// empty `folder`), in byte order, each after `after` when it is given. Reads the
    /// `files_status_path` index: the cost follows the paths returned, not the folder's size.
    public func paths(in status: SyncStatus, under folder: String, after: String? = nil, limit: Int) throws -> [String] {
        var conditions = ["status = ?"]
        var arguments: [SQLValue] = [.text(status.rawValue)]
        // One lower bound, so that SQLite starts each page where the last one ended.
        var lower: String?
        var upper: String?
        if !folder.isEmpty {
            try PathRules.validate(folder)
            (lower, upper) = PathRules.insideFolderBounds(folder)
        }
        if let after, lower.map({ !Array(after.utf8).lexicographicallyPrecedes(Array($0.utf8)) }) ?? true { lower = after }
        if let lower {
            conditions.append("path > ?")
            arguments.append(.text(lower))
        }
        if let upper {
            conditions.append("path < ?")
            arguments.append(.text(upper))
        }
        arguments.append(.int(Int64(max(0, limit))))
        return try locked {
            try db.query("SELECT path FROM files WHERE \(conditions.joined(separator: " AND ")) ORDER BY path LIMIT ?",
                         arguments, operation: "read \(status.rawValue) paths under \(folder)/") { $0.text(0) }
        }
    }

    /// Every record not yet synced, in the order the uploader takes them: uploads in flight,
    /// then pending files it may start now (by priority, then by when they were queued, as
    /// `claim` takes them), then those waiting for a retry (soonest first), then failed ones,
    /// which wait for `retry`.
    public func processingOrder() throws -> [FileRecord] {
        // 0 in flight, 1 due now (as `claim` sees it), 2 waiting, 3 failed.
        let group = """
            CASE status WHEN 'syncing' THEN 0 WHEN 'failed' THEN 3
                 ELSE CASE WHEN next_attempt_at IS NULL OR next_attempt_at <= ?1
                                OR priority >= \(Priority.critical.rawValue) THEN 1 ELSE 2 END END
            """
        return try locked {
            try db.query("""
                SELECT \(FileRecord.columns) FROM files
                WHERE status IN ('syncing', 'pending', 'failed')
                ORDER BY \(group), CASE WHEN (\(group)) = 2 THEN next_attempt_at END, priority DESC, enqueued_at, rowid
                """, [.int(StoredTime.nanoseconds(now()))], operation: "list the queue in order", FileRecord.init(row:))
        }
    }

    /// The number of records in each status. Every status is present; `local` is always 0
    /// because files without a record are not counted.
    public func counts() throws -> [SyncStatus: Int] {
        try locked {
            var result = Dictionary(uniqueKeysWithValues: SyncStatus.allCases.map { ($0, 0) })
            let rows = try db.query("SELECT status, count(*) FROM files GROUP BY status",
                                    operation: "count records") { ($0.text(0), $0.int(1)) }
            for (status, count) in rows {
                if let status = SyncStatus(rawValue: status) { result[status] = count }
            }
            return result
        }
    }

    /// Bytes still to upload: the sum of `size` over `pending` and `syncing` records.
    public func pendingBytes() throws -> Int64 {
        try locked {
            try db.queryFirst(
                "SELECT coalesce(sum(size), 0) FROM files WHERE status IN ('pending', 'syncing')",
                operation: "sum pending bytes") { $0.int64(0) } ?? 0
        }
    }

    /// The earliest `nextAttemptAt` among `pending` records still waiting (after `after`, by
    /// default now), or nil. Upload workers sleep until then when `claim` returns nothing; they
    /// pass the time they claimed at, so an item that became due between their claim and this
    /// call is returned (in the past) instead of being slept over.
    public func earliestRetry(after: Date? = nil) throws -> Date? {
        try locked {
            let afterNs = StoredTime.nanoseconds(after ?? now())
            return try db.queryFirst("""
                SELECT next_attempt_at FROM files INDEXED BY files_due
                WHERE status = 'pending' AND next_attempt_at > ?
                ORDER BY next_attempt_at LIMIT 1
                """, [.int(afterNs)], operation: "find the next retry time") { $0.optionalInt64(0) }?
                .map(StoredTime.date)
        }
    }

    /// The queue's clock (injectable for tests), for callers that must agree with it.
    public var currentTime: Date { now() }

    /// Runs a PRAGMA and returns its first value as text (for diagnostics and tests).
    func pragma(_ name: String) throws -> String? {
        try locked {
            try db.queryFirst("PRAGMA \(name)", operation: "read PRAGMA \(name)") { $0.text(0) }
        }
    }

    /// Runs `body` with the connection, holding the lock (for tests).
    func withDatabase<T>(_ body: (SQLiteDatabase) throws -> T) rethrows -> T {
        try locked { try body(db) }
    }
}
