import Foundation
import XCTest
@testable import RecsyncStore

/// CRITICAL requests, retries of failed files, priority floors and the crash marker.
final class QueueRequestTests: QueueTestCase {
    func testCriticalItemIgnoresItsBackoffAndGoesFirst() throws {
        let queue = try openQueue()
        try queue.add("old.wav", .high)
        try queue.add("waiting.wav", .normal)
        let claimed = try XCTUnwrap(try queue.claim(limit: 10).first { $0.path == "waiting.wav" })
        for record in try queue.records(status: .syncing) where record.path != "waiting.wav" {
            try queue.release(path: record.path, generation: record.generation)
        }
        XCTAssertTrue(try queue.markAttemptFailed(path: "waiting.wav", generation: claimed.generation, error: "503",
                                                  retryAt: clock.now.addingTimeInterval(300), countAttempt: true))
        XCTAssertEqual(try queue.claim(limit: 10).map(\.path), ["old.wav"], "waiting.wav waits for its retry time")
        let old = try XCTUnwrap(try queue.record(path: "old.wav"))
        try queue.release(path: "old.wav", generation: old.generation)

        let critical = try XCTUnwrap(try queue.requestNow(path: "waiting.wav"))
        XCTAssertEqual(critical.priority, Priority.critical.rawValue)
        XCTAssertNil(critical.nextAttemptAt)
        XCTAssertEqual(critical.attempts, 1, "sync-now of a pending file keeps its count")
        XCTAssertEqual(try queue.claim(limit: 1).map(\.path), ["waiting.wav"], "CRITICAL starts before everything")
    }

    func testCriticalIsDueEvenWithARetryTimeSetLater() throws {
        let queue = try openQueue()
        try queue.add("a.wav", .critical)
        let item = try XCTUnwrap(try queue.claim(limit: 1).first)
        try queue.markAttemptFailed(path: "a.wav", generation: item.generation, error: "x",
                                    retryAt: clock.now.addingTimeInterval(60), countAttempt: true)
        XCTAssertEqual(try queue.claim(limit: 1).map(\.path), ["a.wav"])
    }

    func testRetryFailedResetsAttemptsAndOnlyTouchesFailedFiles() throws {
        let queue = try openQueue()
        try queue.add("bad.wav")
        try queue.add("fine.wav")
        let bad = try XCTUnwrap(try queue.claim(limit: 10).first { $0.path == "bad.wav" })
        XCTAssertTrue(try queue.markFailed(path: "bad.wav", generation: bad.generation, error: "AccessDenied"))
        XCTAssertEqual(try queue.record(path: "bad.wav")?.status, .failed)
        XCTAssertEqual(try queue.records(status: .failed).map(\.path), ["bad.wav"])
        XCTAssertFalse(try queue.retryFailed(path: "fine.wav"), "only failed files are retried")
        XCTAssertTrue(try queue.retryFailed(path: "bad.wav"))
        let retried = try XCTUnwrap(try queue.record(path: "bad.wav"))
        XCTAssertEqual(retried.status, .pending)
        XCTAssertEqual(retried.attempts, 0)
        XCTAssertNil(retried.nextAttemptAt)
        XCTAssertFalse(try queue.retryFailed(path: "bad.wav"))
    }

    func testRequestNowOfAFailedFileMakesItPendingAndOfASyncedFileDoesNothing() throws {
        let queue = try openQueue()
        try queue.add("bad.wav")
        let bad = try XCTUnwrap(try queue.claim(limit: 1).first)
        try queue.markFailed(path: "bad.wav", generation: bad.generation, error: "AccessDenied")
        let now = try XCTUnwrap(try queue.requestNow(path: "bad.wav"))
        XCTAssertEqual(now.status, .pending)
        XCTAssertEqual(now.attempts, 0)
        try queue.add("done.wav")
        try queue.upload("done.wav")
        XCTAssertEqual(try queue.requestNow(path: "done.wav")?.status, .synced)
        XCTAssertNil(try queue.requestNow(path: "nothing.wav"))
    }

    func testMinimumPriorityLeavesLowerItemsWaiting() throws {
        let queue = try openQueue()
        try queue.add("normal.wav", .normal)
        try queue.add("urgent.wav", .critical)
        XCTAssertEqual(try queue.claim(limit: 10, minimumPriority: Priority.critical.rawValue).map(\.path), ["urgent.wav"])
        XCTAssertEqual(try queue.claim(limit: 10).map(\.path), ["normal.wav"])
    }

    func testAnUploadCutShortByACrashIsMarkedInterruptedUntilSynced() throws {
        var queue: SyncQueue? = try SyncQueue(databasePath: databasePath, now: clock.function)
        try queue!.add("take.wav")
        XCTAssertEqual(try queue!.claim(limit: 1).count, 1)
        XCTAssertFalse(try XCTUnwrap(try queue!.record(path: "take.wav")).interrupted)
        queue!.close()
        queue = nil
        let reopened = try openQueue()
        XCTAssertEqual(reopened.recoveredOnOpen, 1)
        let recovered = try XCTUnwrap(try reopened.record(path: "take.wav"))
        XCTAssertEqual(recovered.status, .pending)
        XCTAssertTrue(recovered.interrupted)
        XCTAssertEqual(recovered.attempts, 0)
        let synced = try reopened.upload("take.wav")
        XCTAssertFalse(synced.interrupted)
    }
}
