import Foundation
import XCTest
@testable import RecsyncStore

/// What a file operation costs the queue must not grow with the queue: every statement the
/// per-file calls run (enqueue at close, claim, the end of an upload, a status read, a rename,
/// the runner's next wake-up) reads an index by key or by range, never a whole table.
/// Checked on SQLite's own plans (EXPLAIN QUERY PLAN), on a queue of 100,000 records shaped like
/// a busy mount: most synced, many waiting for a retry, some ready, some failed.
final class QueryPlanTests: QueueTestCase {
    static let records = 100_000

    func testPerFileOperationsSearchIndexesOnly() throws {
        let queue = try openQueue()
        try fill(queue, Self.records)
        let baseline = queue.withDatabase { $0.preparedSQL }

        // Every call a file's life makes, on records in each state.
        try queue.add("new/take1.wav")
        for folder in ["a", "b", "c"] { try queue.add("\(folder)/same.wav", key: "k/same.wav") }  // numbered keys
        try queue.add("busy/f10.wav")  // enqueued again while it waits
        let claimed = try queue.claim(limit: 4, excluding: ["busy/f20.wav"], minimumPriority: 2)
        XCTAssertEqual(claimed.count, 4, "the filled queue has ready records to claim")
        let first = try XCTUnwrap(claimed.first)
        XCTAssertTrue(try queue.markSynced(path: first.path, generation: first.generation, etag: "\"e\"", size: 1, mtimeNs: 1,
                                           ctimeNs: 1, inode: 1))
        XCTAssertTrue(try queue.confirmSyncedIdentity(path: first.path, generation: first.generation, size: 1, mtimeNs: 1,
                                                      ctimeNs: 2, inode: 2))
        XCTAssertTrue(try queue.markAttemptFailed(path: claimed[1].path, generation: claimed[1].generation, error: "x",
                                                  retryAt: clock.now + 60, countAttempt: true))
        XCTAssertTrue(try queue.markFailed(path: claimed[2].path, generation: claimed[2].generation, error: "x"))
        let multipart = claimed[3]
        _ = try queue.beginMultipart(path: multipart.path, generation: multipart.generation, uploadId: "u1", partSize: 8 << 20)
        _ = try queue.recordPart(path: multipart.path, generation: multipart.generation, uploadId: "u1",
                                 part: StoredPart(partNumber: 1, size: 8 << 20, etag: "\"p\"", digest: "00"))
        _ = try queue.multipart(path: multipart.path, generation: multipart.generation)
        try queue.setChecksum(path: multipart.path, generation: multipart.generation, checksum: "sha256:00")
        _ = try queue.checksum(path: multipart.path)
        try queue.forgetParts(path: multipart.path, generation: multipart.generation, uploadId: "u1", partNumbers: [1])
        try queue.clearMultipart(path: multipart.path, generation: multipart.generation)
        XCTAssertTrue(try queue.release(path: multipart.path, generation: multipart.generation))
        _ = try queue.record(path: "busy/f30.wav")
        _ = try queue.earliestRetry(after: clock.now)
        _ = try queue.earliestRetry()
        _ = try queue.requestNow(path: "busy/f40.wav")
        _ = try queue.retryFailed(path: "busy/f13.wav")
        _ = try queue.rename(from: "busy/f50.wav", to: "busy/renamed.wav")
        _ = try queue.remove(path: "busy/f60.wav")
        _ = try queue.paths(in: .pending, under: "busy", limit: 10)
        try queue.queueDeletes(["gone/key"])
        try queue.forgetDelete("gone/key")

        let statements = queue.withDatabase { $0.preparedSQL }.subtracting(baseline)
        XCTAssertGreaterThan(statements.count, 15, "the workload ran the per-file statements")
        for sql in statements.sorted() {
            let plan = try queue.withDatabase { db in
                try db.query("EXPLAIN QUERY PLAN " + sql, Array(repeating: .null, count: Self.parameterCount(sql)),
                             operation: "explain") { $0.text(3) }
            }
            let whole = plan.filter { Self.readsAWholeTable($0) }
            XCTAssertTrue(whole.isEmpty, "reads a whole table (\(whole)):\n\(sql)\nplan: \(plan)")
            if ProcessInfo.processInfo.environment["RECSYNC_PRINT_PLANS"] != nil { print(sql, plan) }
        }
    }

    /// `SCAN t` reads every row of `t` (through an index or not). `SEARCH t USING ... (status=?)`
    /// reads every record of one status, as many as the queue holds; a search by path, key or
    /// upload, or by status and a range, reads what it returns. Sorting the rows read
    /// (`USE TEMP B-TREE`) means they were not read in order, so all of them were read.
    static func readsAWholeTable(_ line: String) -> Bool {
        if line.hasPrefix("SCAN ") { return !line.hasPrefix("SCAN CONSTANT ROW") }
        if line.contains("TEMP B-TREE") { return true }
        return line.hasPrefix("SEARCH ") && line.hasSuffix("(status=?)")
    }

    /// The number of parameters SQLite will ask for: the highest `?N`, or the count of bare `?`.
    static func parameterCount(_ sql: String) -> Int {
        var highest = 0
        var bare = 0
        var characters = Array(sql.utf8)[...]
        while let index = characters.firstIndex(of: UInt8(ascii: "?")) {
            characters = characters[(index + 1)...]
            let digits = characters.prefix { $0 >= 48 && $0 <= 57 }
            if digits.isEmpty { bare += 1 } else { highest = max(highest, Int(String(decoding: digits, as: UTF8.self))!) }
        }
        return max(highest, bare)
    }

    /// `count` records in one transaction: a third synced, a third waiting for a retry, the rest
    /// ready, failed or being uploaded, spread over folders.
    private func fill(_ queue: SyncQueue, _ count: Int) throws {
        let nowNs = Int64(clock.now.timeIntervalSince1970 * 1e9)
        try queue.withDatabase { db in
            try db.transaction(operation: "fill") {
                for index in 0..<count {
                    let path = "busy/f\(index).wav"
                    let status: String
                    var next: SQLValue = .null
                    switch index % 10 {
                    case 0, 1, 2, 5, 6: status = "synced"
                    case 3: status = "failed"
                    case 4: status = "syncing"
                    case 7, 8: status = "pending"; next = .int(nowNs + Int64(index) * 1_000_000)
                    default: status = "pending"
                    }
                    try db.run("""
                        INSERT INTO files (path, status, priority, generation, s3_key, attempts, next_attempt_at,
                                           size, mtime_ns, created_at, enqueued_at)
                        VALUES (?, ?, ?, 1, ?, 0, ?, 100, 1000, ?, ?)
                        """, [.text(path), .text(status), .int(Int64(1 + index % 8)), .text("rec/" + path), next,
                              .int(nowNs), .int(nowNs + Int64(index))], operation: "fill")
                }
            }
        }
    }
}
