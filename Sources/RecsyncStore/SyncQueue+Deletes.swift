// Objects to delete on the server when deletes are mirrored (`mirror_deletes`), and the copy
// source of a renamed file. Lock rule: as in SyncQueue.swift, every method holds `lock` for its
// whole duration.

import FoundationEssentials

extension SyncQueue {
    /// Lists `keys` for deletion on the server (kept until `forgetDelete`).
    public func queueDeletes(_ keys: [String]) throws {
        guard !keys.isEmpty else { return }
        try locked {
            let nowNs = StoredTime.nanoseconds(now())
            try db.transaction(operation: "queue object deletes") {
                for key in keys {
                    try db.run("INSERT OR IGNORE INTO pending_deletes (s3_key, queued_at) VALUES (?, ?)",
                               [.text(key), .int(nowNs)], operation: "queue delete of \(key)")
                }
            }
        }
    }

    /// Keys waiting to be deleted on the server, oldest first.
    public func pendingDeletes() throws -> [String] {
        try locked {
            try db.query("SELECT s3_key FROM pending_deletes ORDER BY queued_at, s3_key", operation: "list pending deletes") { $0.text(0) }
        }
    }

    /// The server deleted `key`.
    public func forgetDelete(_ key: String) throws {
        try locked {
            _ = try db.run("DELETE FROM pending_deletes WHERE s3_key = ?", [.text(key)], operation: "forget delete of \(key)")
        }
    }

    /// The object under `renamedFrom` could not be copied (gone, or changed): upload instead. The
    /// key is kept for a mirrored delete; only the copy is given up.
    public func abandonCopy(path: String, generation: Int64) throws {
        try locked {
            _ = try db.run("UPDATE files SET renamed_from_etag = '' WHERE path = ? AND generation = ?",
                           [.text(path), .int(generation)], operation: "give up copying \(path)")
        }
    }
}
