// How a FileRecord is stored: column list, row decoding, and the time encoding.
// Every timestamp in the database is INTEGER nanoseconds since the Unix epoch.

import FoundationEssentials

enum StoredTime {
    /// Nanoseconds since the Unix epoch, rounded to the nearest nanosecond.
    static func nanoseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000_000).rounded())
    }

    static func date(_ nanoseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(nanoseconds) / 1_000_000_000)
    }
}

extension FileRecord {
    /// The columns `init(row:)` reads, in order.
    static let columns = """
        path, status, priority, generation, s3_key, attempts, next_attempt_at, last_error, \
        etag, synced_at, synced_size, synced_mtime_ns, size, mtime_ns, created_at, enqueued_at, interrupted, \
        renamed_from, renamed_from_etag, synced_ctime_ns, synced_inode
        """

    init(row: SQLRow) {
        self.init(
            path: row.text(0),
            // The CHECK constraint on `status` admits only SyncStatus raw values.
            status: SyncStatus(rawValue: row.text(1)) ?? .pending,
            priority: row.int(2),
            generation: row.int64(3),
            s3Key: row.text(4),
            attempts: row.int(5),
            nextAttemptAt: row.optionalInt64(6).map(StoredTime.date),
            lastError: row.optionalText(7),
            etag: row.optionalText(8),
            syncedAt: row.optionalInt64(9).map(StoredTime.date),
            syncedSize: row.optionalInt64(10),
            syncedMtimeNs: row.optionalInt64(11),
            size: row.int64(12),
            mtimeNs: row.int64(13),
            createdAt: StoredTime.date(row.int64(14)),
            enqueuedAt: StoredTime.date(row.int64(15)),
            interrupted: row.int(16) != 0,
            renamedFrom: row.optionalText(17),
            renamedFromETag: row.optionalText(18),
            syncedCtimeNs: row.optionalInt64(19),
            syncedInode: row.optionalInt64(20))
    }
}
