import Foundation
import XCTest
@testable import RecsyncStore

final class QueueStorageTests: QueueTestCase {
    func testCreatesMissingDirectoryAndUsesWALWithNormalSync() throws {
        XCTAssertFalse(FileManager.default.fileExists(atPath: databasePath))
        let queue = try openQueue()
        XCTAssertEqual(try queue.pragma("journal_mode"), "wal")
        XCTAssertEqual(try queue.pragma("synchronous"), "1", "1 is NORMAL: the WALSyncer syncs the log")
        XCTAssertEqual(try queue.pragma("foreign_keys"), "1")
        XCTAssertEqual(try queue.pragma("busy_timeout"), "5000")
        try queue.add("a.wav")
        XCTAssertTrue(FileManager.default.fileExists(atPath: databasePath + "-wal"))
        queue.close()

        // WAL mode is persistent: bytes 18 and 19 of the file header are 2 (read/write version WAL).
        let header = try XCTUnwrap(FileHandle(forReadingAtPath: databasePath)).readData(ofLength: 20)
        XCTAssertEqual(Array(header.prefix(16)), Array("SQLite format 3\0".utf8))
        XCTAssertEqual(header[18], 2)
        XCTAssertEqual(header[19], 2)
    }

    /// A commit no longer syncs the disk itself; the log is synced within a second of a change,
    /// and not again while nothing changes.
    func testTheLogIsSyncedWithinASecondOfAChangeAndOnlyThen() throws {
        let queue = try openQueue()
        let syncer = try XCTUnwrap(queue.walSyncer)
        try waitFor { syncer.syncCount >= 1 }  // the migrations of the new file
        let settled = syncer.syncCount
        usleep(2_200_000)
        XCTAssertEqual(syncer.syncCount, settled, "nothing changed: no sync")
        try queue.add("a.wav")
        try waitFor(timeout: 2.5) { syncer.syncCount == settled + 1 }
        XCTAssertFalse(syncer.sync(), "synced already")
        try queue.add("b.wav")
        XCTAssertTrue(syncer.sync(), "a change since the last sync is synced")
        queue.close()
        XCTAssertFalse(syncer.sync(), "a closed queue is not synced again")
    }

    private func waitFor(timeout: TimeInterval = 3, _ condition: () -> Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        let deadline = Date() + timeout
        while !condition() {
            if Date() > deadline { XCTFail("timed out", file: file, line: line); return }
            usleep(20_000)
        }
    }

    func testRecordsSurviveReopen() throws {
        var before: [FileRecord] = []
        do {
            let queue = try SyncQueue(databasePath: databasePath, now: clock.function)
            try queue.add("synced.wav", .high)
            try queue.upload("synced.wav", etag: "\"abc\"")
            try queue.add("retry.wav")
            let item = try XCTUnwrap(queue.claim(limit: 1).first)
            try queue.markAttemptFailed(path: item.path, generation: item.generation, error: "HTTP 500",
                                        retryAt: clock.now + 60, countAttempt: true)
            try queue.add("failed.wav", .critical)
            let bad = try XCTUnwrap(queue.claim(limit: 1).first)
            try queue.markFailed(path: bad.path, generation: bad.generation, error: "403")
            try queue.add("plain.wav", .low, size: 123)
            before = try queue.records(under: "")
            queue.close()
            XCTAssertThrowsError(try queue.records(under: "")) { error in
                XCTAssertEqual(error as? StoreError, .closed(path: databasePath))
            }
        }
        let reopened = try openQueue()
        XCTAssertEqual(reopened.recoveredOnOpen, 0)
        XCTAssertEqual(try reopened.records(under: ""), before)
        XCTAssertEqual(before.count, 4)
        XCTAssertEqual(try reopened.record(path: "synced.wav")?.etag, "\"abc\"")
        XCTAssertEqual(try reopened.record(path: "retry.wav")?.nextAttemptAt, clock.now + 60)
    }

    func testSyncingItemsArePendingAfterReopen() throws {
        var claimed: FileRecord?
        do {
            let queue = try SyncQueue(databasePath: databasePath, now: clock.function)
            try queue.add("crash.wav")
            try queue.add("waiting.wav")
            let first = try XCTUnwrap(queue.claim(limit: 1).first)
            try queue.markAttemptFailed(path: first.path, generation: first.generation, error: "timeout",
                                        retryAt: nil, countAttempt: true)
            claimed = try XCTUnwrap(queue.claim(limit: 1).first)
            XCTAssertEqual(claimed?.path, "crash.wav")
            // No markSynced: the process dies with the upload in flight.
        }
        let reopened = try openQueue()
        XCTAssertEqual(reopened.recoveredOnOpen, 1)
        let record = try XCTUnwrap(reopened.record(path: "crash.wav"))
        XCTAssertEqual(record.status, .pending)
        XCTAssertEqual(record.attempts, 1, "recovery does not count an attempt")
        XCTAssertEqual(record.generation, claimed?.generation)
        XCTAssertEqual(try reopened.counts()[.syncing], 0)
        XCTAssertEqual(try reopened.claim(limit: 5).map(\.path), ["crash.wav", "waiting.wav"])
    }

    func testMigrationsRunOnceAndReopenIsIdempotent() throws {
        func appliedMigrations(_ queue: SyncQueue) throws -> [String] {
            try queue.withDatabase { db in
                try db.query("SELECT name FROM schema_migrations ORDER BY name", operation: "test") { $0.text(0) }
            }
        }
        let expected = Migrations.all.map(\.name).sorted()
        let first = try SyncQueue(databasePath: databasePath, now: clock.function)
        XCTAssertEqual(try appliedMigrations(first), expected)
        try first.add("a.wav")
        first.close()
        for _ in 0..<3 {
            let again = try SyncQueue(databasePath: databasePath, now: clock.function)
            XCTAssertEqual(try appliedMigrations(again), expected)
            XCTAssertEqual(try again.records(under: "").map(\.path), ["a.wav"])
            again.close()
        }
        // Re-running the migrator on a migrated file applies nothing.
        let queue = try openQueue()
        XCTAssertEqual(try queue.withDatabase { try Migrations.migrate($0, now: clock.now) }, [])
    }

    func testNewerSchemaIsRefused() throws {
        let queue = try SyncQueue(databasePath: databasePath, now: clock.function)
        _ = try queue.withDatabase { db in
            try db.run("INSERT INTO schema_migrations (name, applied_at) VALUES ('2099-01-from-the-future', 0)",
                       operation: "test")
        }
        queue.close()
        XCTAssertThrowsError(try SyncQueue(databasePath: databasePath, now: clock.function)) { error in
            XCTAssertEqual(error as? StoreError, .newerSchema(path: databasePath, unknownMigrations: ["2099-01-from-the-future"]))
            XCTAssertTrue("\(error)".contains("upgrade recsync"))
        }
        // The failed open released the file: trying again reports the same problem, not "in use".
        XCTAssertThrowsError(try SyncQueue(databasePath: databasePath, now: clock.function)) { error in
            guard case StoreError.newerSchema = error else { return XCTFail("\(error)") }
        }
    }

    func testOneOwnerAtATime() throws {
        let queue = try SyncQueue(databasePath: databasePath, now: clock.function)
        XCTAssertThrowsError(try SyncQueue(databasePath: databasePath, now: clock.function)) { error in
            guard case StoreError.inUse = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("--state-dir"), "\(error)")
        }
        queue.close()
        queue.close()
        let next = try openQueue()
        XCTAssertEqual(try next.records(under: ""), [])
    }

    func testUnusableLocationsGiveAdvice() throws {
        // A regular file where the state directory should be.
        let blocker = directory.appendingPathComponent("state")
        try Data("x".utf8).write(to: blocker)
        XCTAssertThrowsError(try SyncQueue(databasePath: databasePath, now: clock.function)) { error in
            guard case StoreError.cannotOpen = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("--state-dir"), "\(error)")
        }
        // A file that is not a database.
        let garbage = directory.appendingPathComponent("garbage.sqlite")
        try Data(repeating: 0x41, count: 4096).write(to: garbage)
        XCTAssertThrowsError(try SyncQueue(databasePath: garbage.path, now: clock.function)) { error in
            XCTAssertTrue("\(error)".contains("move it aside"), "\(error)")
        }
    }
}
