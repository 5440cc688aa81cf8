// What users ask for: upload a file now, or try a failed file again.
// Lock rule: as in SyncQueue.swift, every method holds `lock` for its whole duration.

import FoundationEssentials

extension SyncQueue {
    /// Makes a queued file CRITICAL and due now: it starts before every waiting item, even one
    /// whose backoff has not expired. A `failed` file goes back to `pending` with its attempts
    /// reset; a `syncing` file keeps uploading; a `synced` file is left alone.
    /// - Returns: the record after the change, or nil when the file is not queued.
    @discardableResult
    public func requestNow(path: String) throws -> FileRecord? {
        try PathRules.validate(path)
        return try locked {
            try db.transaction(operation: "sync \(path) now") {
                guard let record = try fetch(path) else { return nil }
                switch record.status {
                case .pending, .failed:
                    try db.run("""
                        UPDATE files SET status = 'pending', priority = ?, next_attempt_at = NULL,
                            attempts = CASE WHEN status = 'failed' THEN 0 ELSE attempts END
                        WHERE path = ?
                        """, [.int(Priority.critical.rawValue), .text(path)], operation: "sync \(path) now")
                case .syncing:
                    try db.run("UPDATE files SET priority = ? WHERE path = ?",
                               [.int(Priority.critical.rawValue), .text(path)], operation: "sync \(path) now")
                case .synced, .local:
                    break
                }
                return try fetch(path)
            }
        }
    }

    /// Sends a `failed` file back to `pending` with its attempts reset and no wait.
    /// - Returns: whether the file was failed (and now is pending).
    @discardableResult
    public func retryFailed(path: String) throws -> Bool {
        try PathRules.validate(path)
        return try locked {
            try db.run("""
                UPDATE files SET status = 'pending', attempts = 0, next_attempt_at = NULL
                WHERE path = ? AND status = 'failed'
                """, [.text(path)], operation: "retry \(path)") > 0
        }
    }

    /// Every record in `status`, ordered by path.
    public func records(status: SyncStatus) throws -> [FileRecord] {
        try locked {
            try db.query("SELECT \(FileRecord.columns) FROM files WHERE status = ? ORDER BY path",
                         [.text(status.rawValue)], operation: "list \(status.rawValue) records", FileRecord.init(row:))
        }
    }
}

extension SyncQueue {
    /// The file's key turned out to hold an object recsync did not write: retire that key (so it
    /// is never used again) and give the claimed file the next free one, back in `pending`.
    public func retireKeyAndRequeue(path: String, generation: Int64) throws {
        try PathRules.validate(path)
        try locked {
            let nowNs = StoredTime.nanoseconds(now())
            try db.transaction(operation: "re-key \(path)") {
                guard let record = try fetch(path), record.generation == generation else { return }
                try db.run("""
                    INSERT OR IGNORE INTO retired_keys (s3_key, path, etag, retired_at) VALUES (?, ?, NULL, ?)
                    """, [.text(record.s3Key), .text(path), .int(nowNs)], operation: "retire key \(record.s3Key)")
                let key = try reserveKey(record.s3Key, for: path)
                try db.run("""
                    UPDATE files SET s3_key = ?, status = 'pending', generation = generation + 1, next_attempt_at = NULL
                    WHERE path = ?
                    """, [.text(key), .text(path)], operation: "re-key \(path)")
            }
        }
    }
}
