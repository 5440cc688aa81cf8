// Room for the queue on a full disk. Lock rule: holds `lock` for its whole duration.

import FoundationEssentials

extension SyncQueue {
    /// Free pages kept inside the database file and room kept in its write-ahead log, so that the
    /// queue can still record what happens (an upload done, a retry due, a file queued) when the
    /// disk it lives on is full: writes into space a file already has need no new blocks.
    /// 512 pages of 4 KiB: hundreds of files queued, thousands of updates.
    static let reservedPages = 512

    /// Makes sure the database has `reservedPages` free pages and its write-ahead log room for as
    /// many (SQLite deletes the log when the queue is closed, so this is done at each open):
    /// writes a scratch table of that size and drops it. Random bytes, so that a compressing
    /// filesystem reserves the room too. A disk too full for that is no error; the queue then
    /// works with what it has. Called by `openRecovering` after the integrity check, so a
    /// damaged file is never written to.
    public func reserveSpace() {
        locked {
            let db = self.db
            guard let free = try? db.queryFirst("PRAGMA freelist_count", operation: "read the free pages", { $0.int(0) }),
                  let pageSize = try? db.queryFirst("PRAGMA page_size", operation: "read the page size", { $0.int(0) })
            else { return }
            let wal = (try? FileManager.default.attributesOfItem(atPath: databasePath + "-wal")[.size] as? Int) ?? 0
            guard free < Self.reservedPages / 2 || wal < Self.reservedPages * pageSize / 2 else { return }
            do {
                try db.execute("""
                    CREATE TABLE IF NOT EXISTS space_reserve (b BLOB);
                    INSERT INTO space_reserve (b) VALUES (randomblob(\(Self.reservedPages * pageSize)));
                    """, operation: "reserve room for the queue")
                try db.execute("DROP TABLE space_reserve", operation: "reserve room for the queue")
                // Copy the log into the database now, so the dropped pages are free there; the log
                // keeps its length for the transactions that follow.
                try db.execute("PRAGMA wal_checkpoint(PASSIVE)", operation: "reserve room for the queue")
            } catch {
                _ = try? db.execute("DROP TABLE IF EXISTS space_reserve", operation: "reserve room for the queue")
            }
        }
    }
}
