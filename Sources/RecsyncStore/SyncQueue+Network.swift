// What the network monitor needs of the queue: forced uploads while automatic ones are paused,
// and "try everything now" when the network comes back.
// Lock rule: as in SyncQueue.swift, every method holds `lock` for its whole duration.

import FoundationEssentials

extension SyncQueue {
    /// Claims `pending` records among `paths` only (files the user forced through while uploads
    /// are paused), ignoring their retry time, highest priority first. As `claim`, it moves them
    /// to `syncing`.
    /// Paths are compared byte for byte (a `Set<String>` would take `café` in NFC and NFD as one).
    public func claim(paths: [String], limit: Int, excluding: [String] = []) throws -> [FileRecord] {
        let excluded = Set(excluding.map { Array($0.utf8) })
        var seen = Set<[UInt8]>()
        let wanted = paths.filter { !excluded.contains(Array($0.utf8)) && seen.insert(Array($0.utf8)).inserted }
        guard limit > 0, !wanted.isEmpty else { return [] }
        return try locked {
            try db.transaction(operation: "claim forced uploads") {
                var claimed: [FileRecord] = []
                for path in wanted.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                    guard let record = try db.queryFirst(
                        "SELECT \(FileRecord.columns) FROM files WHERE path = ? AND status = 'pending'",
                        [.text(path)], operation: "claim \(path)", FileRecord.init(row:)) else { continue }
                    claimed.append(record)
                }
                claimed.sort { ($0.priority, $1.enqueuedAt) > ($1.priority, $0.enqueuedAt) }
                claimed = Array(claimed.prefix(limit))
                for index in claimed.indices {
                    try db.run("UPDATE files SET status = 'syncing' WHERE path = ?", [.text(claimed[index].path)],
                               operation: "claim \(claimed[index].path)")
                    claimed[index].status = .syncing
                }
                return claimed
            }
        }
    }

    /// Makes every waiting `pending` record due now (the network came back, or the policy allows
    /// uploads again: no backoff timer should hold them). Attempts are left as they are.
    /// - Returns: how many records were waiting.
    @discardableResult
    public func clearRetryWaits() throws -> Int {
        try locked {
            try db.run("UPDATE files SET next_attempt_at = NULL WHERE status = 'pending' AND next_attempt_at IS NOT NULL",
                       [], operation: "clear retry waits")
        }
    }
}
