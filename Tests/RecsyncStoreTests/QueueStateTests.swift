import Foundation
import XCTest
@testable import RecsyncStore

final class QueueStateTests: QueueTestCase {
    func testEnqueueCreatesPendingRecord() throws {
        let queue = try openQueue()
        let created = Date(timeIntervalSince1970: 1_650_000_000)
        let record = try queue.enqueue(path: "sub/take1.wav", priority: .high, size: 4096, mtimeNs: 77,
                                       createdAt: created, candidateKey: "rec/sub/take1.wav")
        XCTAssertEqual(record.path, "sub/take1.wav")
        XCTAssertEqual(record.status, .pending)
        XCTAssertEqual(record.priority, Priority.high.rawValue)
        XCTAssertEqual(record.generation, 1)
        XCTAssertEqual(record.s3Key, "rec/sub/take1.wav")
        XCTAssertEqual(record.attempts, 0)
        XCTAssertNil(record.nextAttemptAt)
        XCTAssertNil(record.etag)
        XCTAssertEqual(record.size, 4096)
        XCTAssertEqual(record.mtimeNs, 77)
        XCTAssertEqual(record.createdAt, created)
        XCTAssertEqual(record.enqueuedAt, clock.now)
        XCTAssertEqual(try queue.record(path: "sub/take1.wav"), record)
        XCTAssertNil(try queue.record(path: "sub/other.wav"))
    }

    func testClaimOrdersByPriorityThenAge() throws {
        let queue = try openQueue()
        try queue.add("low-old", .low); clock.advance(1)
        try queue.add("normal-old", .normal); clock.advance(1)
        try queue.add("critical", .critical); clock.advance(1)
        try queue.add("normal-new", .normal); clock.advance(1)
        try queue.add("cleanup", .cleanup); clock.advance(1)
        try queue.add("low-new", .low)

        let first = try queue.claim(limit: 2)
        XCTAssertEqual(first.map(\.path), ["critical", "normal-old"])
        XCTAssertTrue(first.allSatisfy { $0.status == .syncing })
        XCTAssertEqual(try queue.record(path: "critical")?.status, .syncing)
        let rest = try queue.claim(limit: 10)
        XCTAssertEqual(rest.map(\.path), ["normal-new", "low-old", "low-new", "cleanup"])
        XCTAssertEqual(try queue.claim(limit: 10), [])
    }

    func testClaimHonoursRetryTimeAndExcluding() throws {
        let queue = try openQueue()
        try queue.add("a")
        try queue.add("b")
        try queue.add("c")
        let a = try XCTUnwrap(queue.claim(limit: 1).first)
        XCTAssertEqual(a.path, "a")
        XCTAssertTrue(try queue.markAttemptFailed(path: "a", generation: a.generation, error: "HTTP 503",
                                                  retryAt: clock.now + 30, countAttempt: true))

        // "a" waits for its retry time; "b" is excluded (open for writing).
        XCTAssertEqual(try queue.claim(limit: 10, excluding: ["b"]).map(\.path), ["c"])
        XCTAssertEqual(try queue.record(path: "b")?.status, .pending)
        XCTAssertEqual(try queue.claim(limit: 10, excluding: ["b"]), [])

        clock.advance(29)
        XCTAssertEqual(try queue.claim(limit: 10, excluding: ["b"]), [])
        clock.advance(1)
        let retried = try queue.claim(limit: 10)
        XCTAssertEqual(retried.map(\.path), ["a", "b"])
        XCTAssertEqual(retried.first?.attempts, 1)
        XCTAssertEqual(retried.first?.lastError, "HTTP 503")
    }

    func testExcludingDoesNotShrinkTheBatch() throws {
        let queue = try openQueue()
        for name in ["a", "b", "c", "d"] { try queue.add(name); clock.advance(1) }
        XCTAssertEqual(try queue.claim(limit: 2, excluding: ["a", "b"]).map(\.path), ["c", "d"])
        XCTAssertEqual(try queue.claim(limit: 0), [])
    }

    func testReenqueueWhilePendingKeepsPlaceAndHigherPriority() throws {
        let queue = try openQueue()
        let first = try queue.add("take.wav", .high, size: 10)
        clock.advance(60)
        let second = try queue.add("take.wav", .low, size: 20)
        XCTAssertEqual(second.generation, 2)
        XCTAssertEqual(second.priority, Priority.high.rawValue)
        XCTAssertEqual(second.enqueuedAt, first.enqueuedAt)
        XCTAssertEqual(second.size, 20)
        XCTAssertEqual(second.s3Key, first.s3Key)

        let raised = try queue.add("take.wav", .critical)
        XCTAssertEqual(raised.priority, Priority.critical.rawValue)
        XCTAssertEqual(raised.generation, 3)
    }

    func testReenqueueAfterSyncOrFailureStartsOver() throws {
        let queue = try openQueue()
        try queue.add("done.wav", .high)
        try queue.add("bad.wav", .high)
        let synced = try queue.upload("done.wav")
        XCTAssertEqual(synced.status, .synced)
        let bad = try XCTUnwrap(queue.claim(limit: 1).first)
        XCTAssertTrue(try queue.markFailed(path: "bad.wav", generation: bad.generation, error: "403 AccessDenied"))
        let failed = try XCTUnwrap(queue.record(path: "bad.wav"))
        XCTAssertEqual(failed.status, .failed)
        XCTAssertEqual(failed.attempts, 1)
        XCTAssertEqual(failed.lastError, "403 AccessDenied")
        XCTAssertEqual(try queue.claim(limit: 10), [], "failed items are not retried on their own")

        clock.advance(100)
        let again = try queue.add("done.wav", .low, size: 999)
        XCTAssertEqual(again.status, .pending)
        XCTAssertEqual(again.priority, Priority.low.rawValue)
        XCTAssertEqual(again.enqueuedAt, clock.now)
        XCTAssertEqual(again.generation, synced.generation + 1)
        XCTAssertEqual(again.etag, "\"etag\"", "the last confirmed upload stays visible")
        XCTAssertEqual(again.createdAt, synced.createdAt)

        let retry = try queue.add("bad.wav", .normal)
        XCTAssertEqual(retry.status, .pending)
        XCTAssertEqual(retry.attempts, 0)
        XCTAssertNil(retry.lastError)
    }

    func testGenerationGuard() throws {
        let queue = try openQueue()
        try queue.add("take.wav", size: 10)
        let claimed = try XCTUnwrap(queue.claim(limit: 1).first)
        XCTAssertEqual(claimed.generation, 1)

        // The file is written again while the upload runs.
        let rewritten = try queue.add("take.wav", size: 20)
        XCTAssertEqual(rewritten.generation, 2)
        XCTAssertEqual(rewritten.status, .pending)

        XCTAssertFalse(try queue.markSynced(path: "take.wav", generation: 1, etag: "old", size: 10, mtimeNs: 1))
        XCTAssertFalse(try queue.markAttemptFailed(path: "take.wav", generation: 1, error: "x", retryAt: nil, countAttempt: true))
        XCTAssertFalse(try queue.markFailed(path: "take.wav", generation: 1, error: "x"))
        XCTAssertFalse(try queue.release(path: "take.wav", generation: 1))
        let stillPending = try XCTUnwrap(queue.record(path: "take.wav"))
        XCTAssertEqual(stillPending.status, .pending)
        XCTAssertNil(stillPending.etag)
        XCTAssertEqual(stillPending.attempts, 0)

        let current = try XCTUnwrap(queue.claim(limit: 1).first)
        XCTAssertEqual(current.generation, 2)
        XCTAssertEqual(current.size, 20)
        clock.advance(5)
        XCTAssertTrue(try queue.markSynced(path: "take.wav", generation: 2, etag: "new", size: 20, mtimeNs: 1_000))
        let synced = try XCTUnwrap(queue.record(path: "take.wav"))
        XCTAssertEqual(synced.status, .synced)
        XCTAssertEqual(synced.etag, "new")
        XCTAssertEqual(synced.syncedSize, 20)
        XCTAssertEqual(synced.syncedMtimeNs, 1_000)
        XCTAssertEqual(synced.syncedAt, clock.now)
        // A second confirmation of the same claim is not applied twice.
        XCTAssertFalse(try queue.markSynced(path: "take.wav", generation: 2, etag: "again", size: 20, mtimeNs: 1_000))
        XCTAssertFalse(try queue.markSynced(path: "missing.wav", generation: 1, etag: "e", size: 1, mtimeNs: 1))
    }

    func testAttemptCountingAndRelease() throws {
        let queue = try openQueue()
        try queue.add("take.wav")
        var item = try XCTUnwrap(queue.claim(limit: 1).first)
        XCTAssertTrue(try queue.markAttemptFailed(path: item.path, generation: item.generation, error: "timeout",
                                                  retryAt: nil, countAttempt: true))
        item = try XCTUnwrap(queue.claim(limit: 1).first)
        XCTAssertTrue(try queue.markAttemptFailed(path: item.path, generation: item.generation, error: "network down",
                                                  retryAt: clock.now + 10, countAttempt: false))
        var record = try XCTUnwrap(queue.record(path: "take.wav"))
        XCTAssertEqual(record.status, .pending)
        XCTAssertEqual(record.attempts, 1)
        XCTAssertEqual(record.lastError, "network down")
        XCTAssertEqual(record.nextAttemptAt, clock.now + 10)

        clock.advance(10)
        item = try XCTUnwrap(queue.claim(limit: 1).first)
        XCTAssertTrue(try queue.release(path: item.path, generation: item.generation))
        record = try XCTUnwrap(queue.record(path: "take.wav"))
        XCTAssertEqual(record.status, .pending)
        XCTAssertEqual(record.attempts, 1)
        XCTAssertEqual(record.generation, item.generation)
        XCTAssertFalse(try queue.release(path: item.path, generation: item.generation), "release needs a syncing record")
        XCTAssertEqual(try queue.claim(limit: 1).map(\.path), ["take.wav"])
    }

    func testCountsPendingBytesAndEarliestRetry() throws {
        let queue = try openQueue()
        XCTAssertEqual(try queue.counts(), [.local: 0, .pending: 0, .syncing: 0, .synced: 0, .failed: 0])
        XCTAssertEqual(try queue.pendingBytes(), 0)
        XCTAssertNil(try queue.earliestRetry())

        try queue.add("synced", size: 1)
        try queue.upload("synced")
        try queue.add("p1", size: 100)
        try queue.add("p2", size: 200)
        try queue.add("p3", size: 400)
        try queue.add("s1", .critical, size: 800)
        try queue.add("f1", .critical, size: 1_600)
        let claimed = try queue.claim(limit: 2)
        XCTAssertEqual(Set(claimed.map(\.path)), ["s1", "f1"])
        XCTAssertTrue(try queue.markFailed(path: "f1", generation: 1, error: "gone"))

        for (path, delay) in [("p1", 30.0), ("p2", 10.0)] {
            let item = try XCTUnwrap(queue.claim(limit: 1, excluding: ["p3"]).first)
            XCTAssertEqual(item.path, path)
            XCTAssertTrue(try queue.markAttemptFailed(path: path, generation: item.generation, error: "503",
                                                      retryAt: clock.now + delay, countAttempt: true))
        }

        XCTAssertEqual(try queue.counts(), [.local: 0, .pending: 3, .syncing: 1, .synced: 1, .failed: 1])
        XCTAssertEqual(try queue.pendingBytes(), 100 + 200 + 400 + 800)
        XCTAssertEqual(try queue.earliestRetry(), clock.now + 10)
        clock.advance(10)
        XCTAssertEqual(try queue.earliestRetry(), clock.now + 20, "a retry that is due no longer counts")
        clock.advance(20)
        XCTAssertNil(try queue.earliestRetry())
        // A runner that claimed just before p1 came due must not sleep over it.
        XCTAssertEqual(try queue.earliestRetry(after: clock.now - 25), clock.now - 20)
    }

    func testInvalidPathsAreRejectedWithAdvice() throws {
        let queue = try openQueue()
        for bad in ["", "/abs.wav", "dir/", "a//b", "a/../b", "./a"] {
            XCTAssertThrowsError(try queue.add(bad), bad) { error in
                guard case StoreError.invalidPath = error else { return XCTFail("\(bad): \(error)") }
                XCTAssertTrue("\(error)".contains("relative to the mount root"))
            }
        }
        XCTAssertThrowsError(try queue.enqueue(path: "a.wav", priority: .normal, size: 1, mtimeNs: 1,
                                               createdAt: clock.now, candidateKey: ""))
        XCTAssertEqual(try queue.records(under: ""), [])
    }

    /// A new confirmed upload forgets the checksum of the one before: until the uploader stores
    /// the new one (or when it has none), nothing compares the file with the old bytes' hash.
    func testMarkSyncedForgetsTheChecksumOfThePreviousUpload() throws {
        let queue = try openQueue()
        try queue.add("take1.wav")
        let first = try queue.upload("take1.wav")
        try queue.setChecksum(path: "take1.wav", generation: first.generation, checksum: "md5:0123")
        XCTAssertEqual(try queue.checksum(path: "take1.wav"), "md5:0123")
        try queue.add("take1.wav", size: 200)
        _ = try queue.upload("take1.wav", etag: "\"second\"")
        XCTAssertNil(try queue.checksum(path: "take1.wav"))
    }
}
