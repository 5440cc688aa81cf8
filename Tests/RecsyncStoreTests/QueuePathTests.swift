import Foundation
import XCTest
@testable import RecsyncStore

final class QueuePathTests: QueueTestCase {
    func testRenameFileKeepsKeyAndState() throws {
        let queue = try openQueue()
        let original = try queue.add("take1.wav")
        try queue.upload("take1.wav")
        let moved = try queue.rename(from: "take1.wav", to: "keep/take1.wav")
        XCTAssertEqual(moved.map(\.path), ["keep/take1.wav"])
        XCTAssertNil(try queue.record(path: "take1.wav"))
        let record = try XCTUnwrap(queue.record(path: "keep/take1.wav"))
        XCTAssertEqual(record.status, .synced)
        XCTAssertEqual(record.s3Key, original.s3Key)
        XCTAssertEqual(record.generation, original.generation)
        XCTAssertEqual(moved.first, record)
    }

    func testRenameFolderMovesOnlyThatFolder() throws {
        let queue = try openQueue()
        for path in ["sub/a.wav", "sub/deep/b.wav", "sub2/x.wav", "sub0", "sub.wav", "subway/c.wav", "Sub/d.wav"] {
            try queue.add(path)
        }
        let moved = try queue.rename(from: "sub", to: "archive/sub")
        XCTAssertEqual(moved.map(\.path), ["archive/sub/a.wav", "archive/sub/deep/b.wav"])
        XCTAssertEqual(try queue.records(under: "").map(\.path).sorted(), [
            "Sub/d.wav", "archive/sub/a.wav", "archive/sub/deep/b.wav", "sub.wav", "sub0", "sub2/x.wav", "subway/c.wav",
        ])
        XCTAssertEqual(try queue.records(under: "archive").map(\.path), ["archive/sub/a.wav", "archive/sub/deep/b.wav"])
        XCTAssertEqual(try queue.records(under: "sub"), [])
        XCTAssertEqual(try queue.records(under: "sub2").map(\.path), ["sub2/x.wav"])
    }

    func testRenameOfAFileOntoAnotherKeepsTheReplacedFilesKey() throws {
        let queue = try openQueue()
        try queue.add("old.wav", key: "rec/old.wav")
        try queue.upload("old.wav")
        let before = try XCTUnwrap(queue.record(path: "old.wav"))
        try queue.add("new.wav", key: "rec/new.wav")
        let moved = try queue.rename(from: "new.wav", to: "old.wav")
        // The new content takes the name's place and key (its object is updated in place).
        XCTAssertEqual(moved.map(\.s3Key), ["rec/old.wav"])
        XCTAssertEqual(moved.first?.generation, before.generation + 1, "an upload in flight of the old content is ignored")
        XCTAssertEqual(try queue.records(under: "").map(\.path), ["old.wav"])
        XCTAssertEqual(try queue.add("other.wav", key: "rec/old.wav").s3Key, "rec/old-2.wav")
        XCTAssertEqual(try queue.add("fresh.wav", key: "rec/new.wav").s3Key, "rec/new.wav",
                       "the temporary file's key was never uploaded: it is free again")
    }

    func testRenameOfAFolderOntoRecordsReplacesThem() throws {
        let queue = try openQueue()
        try queue.add("b/take.wav", key: "rec/b-take.wav")
        try queue.upload("b/take.wav")
        try queue.add("a/take.wav", key: "rec/a-take.wav")
        let moved = try queue.rename(from: "a", to: "b")
        XCTAssertEqual(moved.map(\.s3Key), ["rec/a-take.wav"])
        XCTAssertEqual(try queue.records(under: "").map(\.path), ["b/take.wav"])
        XCTAssertEqual(try queue.add("other.wav", key: "rec/b-take.wav").s3Key, "rec/b-take-2.wav", "an uploaded key is retired")
    }

    func testRenameOfSyncingRecordDropsTheWorkersResult() throws {
        let queue = try openQueue()
        try queue.add("dir/take.wav")
        let claimed = try XCTUnwrap(queue.claim(limit: 1).first)
        let moved = try XCTUnwrap(queue.rename(from: "dir", to: "moved").first)
        XCTAssertEqual(moved.path, "moved/take.wav")
        XCTAssertEqual(moved.status, .pending)
        XCTAssertEqual(moved.generation, claimed.generation + 1)
        XCTAssertFalse(try queue.markSynced(path: "dir/take.wav", generation: claimed.generation, etag: "e", size: 1, mtimeNs: 1))
        XCTAssertFalse(try queue.markSynced(path: "moved/take.wav", generation: claimed.generation, etag: "e", size: 1, mtimeNs: 1))
        XCTAssertEqual(try queue.claim(limit: 5).map(\.path), ["moved/take.wav"])
    }

    func testRenameIntoItselfIsRefused() throws {
        let queue = try openQueue()
        try queue.add("a/b.wav")
        XCTAssertThrowsError(try queue.rename(from: "a", to: "a/c"))
        XCTAssertThrowsError(try queue.rename(from: "a/b.wav", to: "a"))
        XCTAssertEqual(try queue.rename(from: "a", to: "a").map(\.path), ["a/b.wav"])
        XCTAssertEqual(try queue.rename(from: "nothing", to: "else"), [])
        XCTAssertEqual(try queue.records(under: "").map(\.path), ["a/b.wav"])
    }

    func testRemoveFileAndFolder() throws {
        let queue = try openQueue()
        for path in ["sub/a.wav", "sub/deep/b.wav", "sub2/c.wav", "top.wav"] { try queue.add(path) }
        XCTAssertEqual(try queue.remove(path: "top.wav").map(\.path), ["top.wav"])
        XCTAssertEqual(try queue.remove(path: "sub").map(\.path), ["sub/a.wav", "sub/deep/b.wav"])
        XCTAssertEqual(try queue.records(under: "").map(\.path), ["sub2/c.wav"])
        XCTAssertEqual(try queue.remove(path: "sub"), [])
        XCTAssertEqual(try queue.counts()[.pending], 1)
    }

    func testRemoveWhileSyncingDropsTheWorkersResult() throws {
        let queue = try openQueue()
        try queue.add("take.wav")
        let claimed = try XCTUnwrap(queue.claim(limit: 1).first)
        XCTAssertEqual(try queue.remove(path: "take.wav").first?.status, .syncing)
        XCTAssertFalse(try queue.markSynced(path: "take.wav", generation: claimed.generation, etag: "e", size: 1, mtimeNs: 1))
        XCTAssertNil(try queue.record(path: "take.wav"))
        // The interrupted upload may still land: the key is retired to protect a later file.
        XCTAssertEqual(try queue.add("again.wav", key: claimed.s3Key).s3Key, "rec/take-2.wav")
    }

    func testPathsInOneStatusUnderAFolderComeFromTheIndexInByteOrder() throws {
        let queue = try openQueue()
        for path in ["sub/a.wav", "sub/deep/b.wav", "sub/c.wav", "sub0", "sub.wav", "subway/c.wav", "Sub/d.wav", "top.wav"] {
            try queue.add(path)
        }
        try queue.upload("sub/c.wav")
        XCTAssertEqual(try queue.paths(in: .pending, under: "sub", limit: 10), ["sub/a.wav", "sub/deep/b.wav"])
        XCTAssertEqual(try queue.paths(in: .pending, under: "sub", after: "sub/a.wav", limit: 10), ["sub/deep/b.wav"])
        XCTAssertEqual(try queue.paths(in: .pending, under: "sub", limit: 1), ["sub/a.wav"])
        XCTAssertEqual(try queue.paths(in: .synced, under: "sub", limit: 10), ["sub/c.wav"])
        XCTAssertEqual(try queue.paths(in: .failed, under: "sub", limit: 10), [])
        XCTAssertEqual(try queue.paths(in: .pending, under: "", limit: 100).count, 7)
        XCTAssertThrowsError(try queue.paths(in: .pending, under: "sub/", limit: 1), "not a folder path")

        // The cost follows the rows returned: SQLite reads the (status, path) index only.
        let plan = try queue.locked {
            try queue.db.query("EXPLAIN QUERY PLAN SELECT path FROM files WHERE status = ? AND (path > ? AND path < ?) ORDER BY path LIMIT ?",
                               [.text("pending"), .text("sub/"), .text("sub0"), .int(5)], operation: "plan") { $0.text(3) }
        }
        XCTAssertTrue(plan.contains { $0.contains("COVERING INDEX files_status_path") }, "\(plan)")
        XCTAssertFalse(plan.contains { $0.contains("TEMP B-TREE") }, "no sort: \(plan)")
    }

    func testProcessingOrderIsTheOrderTheUploaderTakesFilesIn() throws {
        let queue = try openQueue()
        try queue.add("done.wav")
        try queue.upload("done.wav")
        try queue.add("normal-first.wav", .normal)
        clock.advance(1)
        // Due now, with a due time (the settle delay passed): its time does not outrank priority.
        try queue.enqueue(path: "high.wav", priority: .high, size: 100, mtimeNs: 1_000, createdAt: Date(timeIntervalSince1970: 1_600_000_000),
                          candidateKey: "rec/high.wav", dueAt: clock.now)
        clock.advance(1)
        try queue.add("normal-second.wav", .normal)
        try queue.add("waiting.wav", .high)
        try queue.add("failed.wav", .critical)
        try queue.add("flight.wav", .low)
        let claimed = try queue.claim(limit: 10)
        for record in claimed {
            switch record.path {
            case "waiting.wav":
                XCTAssertTrue(try queue.markAttemptFailed(path: record.path, generation: record.generation, error: "503",
                                                          retryAt: clock.now.addingTimeInterval(60), countAttempt: true))
            case "failed.wav":
                XCTAssertTrue(try queue.markFailed(path: record.path, generation: record.generation, error: "403"))
            case "flight.wav":
                break  // stays syncing
            default:
                XCTAssertTrue(try queue.release(path: record.path, generation: record.generation))
            }
        }
        XCTAssertEqual(try queue.processingOrder().map(\.path),
                       ["flight.wav", "high.wav", "normal-first.wav", "normal-second.wav", "waiting.wav", "failed.wav"],
                       "in flight, due by priority then age, waiting for a retry, failed; synced files are done")
        XCTAssertEqual(try queue.claim(limit: 10).map(\.path), ["high.wav", "normal-first.wav", "normal-second.wav"],
                       "the uploader takes the due ones in that order")
    }
}
