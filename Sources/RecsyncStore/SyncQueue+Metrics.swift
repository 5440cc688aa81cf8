import FoundationEssentials

/// The queue's shape for metrics: counts by status and priority, and the oldest waiting file.
public struct QueueShape: Sendable, Equatable {
    /// Records by status and priority (the priority's raw value).
    public var counts: [SyncStatus: [Int: Int]]
    /// When the longest-waiting `pending` or `syncing` record was queued; nil when none waits.
    public var oldestWaitingSince: Date?

    public init(counts: [SyncStatus: [Int: Int]], oldestWaitingSince: Date?) {
        self.counts = counts
        self.oldestWaitingSince = oldestWaitingSince
    }
}

extension SyncQueue {
    /// The counts come from the claim index (status, priority); the oldest from the same index
    /// per status, so neither reads the whole table's rows.
    public func shape() throws -> QueueShape {
        try locked {
            var counts: [SyncStatus: [Int: Int]] = [:]
            let rows = try db.query("SELECT status, priority, count(*) FROM files GROUP BY status, priority",
                                    operation: "count records by priority") { ($0.text(0), $0.int(1), $0.int(2)) }
            for (status, priority, count) in rows {
                if let status = SyncStatus(rawValue: status) { counts[status, default: [:]][priority] = count }
            }
            let oldest = try db.queryFirst("SELECT min(enqueued_at) FROM files WHERE status IN ('pending', 'syncing')",
                                           operation: "find the oldest waiting record") { $0.isNull(0) ? nil : $0.int64(0) }
            return QueueShape(counts: counts, oldestWaitingSince: (oldest ?? nil).map(StoredTime.date))
        }
    }
}
