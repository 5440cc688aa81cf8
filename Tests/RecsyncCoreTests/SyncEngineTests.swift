import Foundation
import RecsyncFS
import RecsyncS3
import RecsyncStore
import XCTest
@testable import RecsyncCore

/// The engine's hooks, queueing and `user.sync.*` attributes, with the uploader running
/// against an in-memory S3.
final class SyncEngineTests: EngineTestCase {
    // MARK: Closing a written file

    func testClosedRecordingIsQueuedAtHighPriorityAndUploadedWithMetadata() throws {
        let audio = TestAudio.wav(seconds: 2.5)
        let before = Date()
        try record("take.wav", audio)

        let queued = try XCTUnwrap(storedRecord("take.wav"))
        XCTAssertEqual(queued.status, .pending)
        XCTAssertEqual(queued.priority, Priority.high.rawValue)
        XCTAssertEqual(queued.priority, 8)
        XCTAssertEqual(queued.size, Int64(audio.count))
        XCTAssertEqual(queued.attempts, 0)
        // The recording's time is the file's birth time (or now): it was just made.
        XCTAssertEqual(queued.createdAt.timeIntervalSince1970, before.timeIntervalSince1970, accuracy: 5)
        let key = try expectedKey("take.wav", at: queued.createdAt)
        XCTAssertEqual(queued.s3Key, key)
        XCTAssertTrue(key.hasPrefix("alice/"), key)
        XCTAssertTrue(key.hasSuffix("/take.wav"), key)
        XCTAssertEqual(key.split(separator: "/").count, 4, "default pattern {user_id}/{year}/{month}/{filename}")
        XCTAssertEqual(try status("take.wav"), "pending")
        XCTAssertEqual(try attribute("take.wav", "user.sync.s3key"), key)
        XCTAssertEqual(try attribute("take.wav", "user.sync.priority"), "8")
        XCTAssertEqual(try attribute("take.wav", "user.sync.progress"), "0/\(audio.count)")
        XCTAssertNil(object(key), "nothing is uploaded before the uploader runs")

        startUploader()
        let synced = try XCTUnwrap(waitForStatus("take.wav", .synced))

        let stored = try XCTUnwrap(object(key))
        XCTAssertEqual(stored.data, audio)
        XCTAssertEqual(stored.contentType, "audio/wav")
        XCTAssertEqual(stored.metadata, [
            "original-name": "take.wav",
            "size": String(audio.count),
            "timestamp": ObjectMetadata.formatTimestamp(queued.createdAt),
            "duration": "2.5",
            "tags": "",
        ])
        XCTAssertEqual(synced.etag, stored.etag)
        XCTAssertEqual(synced.syncedSize, Int64(audio.count))
        XCTAssertEqual(putCalls(key), 1)

        XCTAssertEqual(try status("take.wav"), "synced")
        XCTAssertEqual(try attribute("take.wav", "user.sync.s3key"), key)
        XCTAssertEqual(try attribute("take.wav", "user.sync.error"), "")
        XCTAssertEqual(try attribute("take.wav", "user.sync.etag"), stored.etag)
        XCTAssertEqual(try attribute("take.wav", "user.sync.synced_at"),
                       ObjectMetadata.formatTimestamp(try XCTUnwrap(synced.syncedAt)))
        XCTAssertEqual(try attribute("take.wav", "user.sync.attempts"), "0")
        XCTAssertEqual(try attribute("take.wav", "user.sync.priority"), "8")
        XCTAssertEqual(try attribute("take.wav", "user.sync.retry_at"), "")
        XCTAssertEqual(try attribute("take.wav", "user.sync.progress"), "\(audio.count)/\(audio.count)")
        XCTAssertNil(try attribute("take.wav", "user.sync.unknown"))
        XCTAssertEqual(engine.syncAttributeNames(path: "take.wav", isDirectory: false), SyncEngine.attributeNames)
    }

    func testFileInSubfolderKeepsItsNameAndGetsTheTypeOfItsExtension() throws {
        try makeEngine(pattern: "{user_id}/{path}/{filename}")
        let text = Data("notes for the session\n".utf8)
        try record("2026/session 1/Notes.TXT", text)
        startUploader()
        try waitForStatus("2026/session 1/Notes.TXT", .synced)
        let stored = try XCTUnwrap(object("alice/2026/session 1/Notes.TXT"))
        XCTAssertEqual(stored.data, text)
        XCTAssertEqual(stored.contentType, "text/plain")
        XCTAssertEqual(stored.metadata["original-name"], "Notes.TXT")
        XCTAssertNil(stored.metadata["duration"], "no duration for a file that is not audio")
    }

    func testLocalFileWithoutRecordHasOnlyStatusAndError() throws {
        try writeFile("untouched.wav", TestAudio.bytes(10))
        XCTAssertEqual(try status("untouched.wav"), "local")
        XCTAssertEqual(try attribute("untouched.wav", "user.sync.error"), "")
        XCTAssertNil(try attribute("untouched.wav", "user.sync.s3key"))
        XCTAssertNil(try attribute("untouched.wav", "user.sync.attempts"))
        XCTAssertNil(try attribute("untouched.wav", "user.sync.progress"))
        XCTAssertEqual(engine.syncAttributeNames(path: "untouched.wav", isDirectory: false),
                       ["user.sync.status", "user.sync.error"])
        engine.awaitScan()
        try writeFile("sub/also-untouched.wav", TestAudio.bytes(10))
        XCTAssertEqual(try engine.syncAttribute(path: "sub", name: "user.sync.status", isDirectory: true), "local")
        XCTAssertNil(try engine.syncAttribute(path: "sub", name: "user.sync.s3key", isDirectory: true))
        XCTAssertEqual(engine.syncAttributeNames(path: "sub", isDirectory: true), ["user.sync.status"])
    }

    func testPendingFileListsNoEtagOrSyncedAt() throws {
        try record("take.wav", TestAudio.bytes(100))
        let names = engine.syncAttributeNames(path: "take.wav", isDirectory: false)
        XCTAssertEqual(names, SyncEngine.attributeNames.filter { $0 != "user.sync.etag" && $0 != "user.sync.synced_at" })
        XCTAssertNil(try attribute("take.wav", "user.sync.etag"))
        XCTAssertNil(try attribute("take.wav", "user.sync.synced_at"))
    }

    func testSettingASyncAttributeIsRefusedWithEPERM() throws {
        try record("take.wav", TestAudio.bytes(10))
        for name in ["user.sync.status", "user.sync.s3key", "user.sync.priority"] {
            XCTAssertThrowsError(try engine.setSyncAttribute(path: "take.wav", name: name, value: Array("synced".utf8))) { error in
                XCTAssertEqual((error as? FSError)?.errno, EPERM, "\(name): \(error)")
            }
        }
        XCTAssertEqual(try status("take.wav"), "pending")
    }

    func testKeyThatCannotBeMadeLeavesTheFileLocalWithTheReason() throws {
        let settings = EngineSettings(bucket: Self.bucket, keyPattern: try KeyPattern("{hostname}/{filename}"),
                                      userId: Self.userId, hostname: "bad/host", maxConcurrentUploads: 1)
        engine = SyncEngine(queue: queue, settings: settings, rootFd: rootFd, logger: logger)
        try record("take.wav", TestAudio.bytes(10))
        XCTAssertNil(try storedRecord("take.wav"))
        XCTAssertEqual(try status("take.wav"), "local")
        let error = try XCTUnwrap(attribute("take.wav", "user.sync.error"))
        XCTAssertTrue(error.contains("bad/host"), error)
    }

    // MARK: Writers still open

    func testStillOpenFileWaitsUntilWritersAreReleased() throws {
        startUploader()
        let data = TestAudio.bytes(4_000)
        engine.fileIsBeingWritten(path: "take.wav")
        try writeFile("take.wav", data)
        try engine.fileWasWritten(path: "take.wav", stillOpen: true)

        XCTAssertEqual(try storedRecord("take.wav")?.status, .pending, "queued durably at close")
        XCTAssertEqual(try status("take.wav"), "pending")
        try assertStays("no upload while a writer handle is held", for: 0.5) {
            try allPutCalls.isEmpty && (storedRecord("take.wav")?.status) == .pending
        }

        engine.fileWritersReleased(path: "take.wav")
        let key = try XCTUnwrap(storedRecord("take.wav")).s3Key
        try waitForStatus("take.wav", .synced)
        XCTAssertEqual(object(key)?.data, data)
    }

    func testFileBeingWrittenIsLocalAndNotUploaded() throws {
        startUploader()
        engine.fileIsBeingWritten(path: "take.wav")
        try writeFile("take.wav", TestAudio.bytes(1_000, seed: 1))
        XCTAssertEqual(try status("take.wav"), "local")
        try assertStays("nothing is queued or uploaded while the file is written", for: 0.3) {
            try allPutCalls.isEmpty && (storedRecord("take.wav")) == nil && (status("take.wav")) == "local"
        }
        try engine.fileWasWritten(path: "take.wav", stillOpen: false)
        try waitForStatus("take.wav", .synced)
    }

    func testRewriteOfAQueuedFileIsLocalAndWaitsForTheNextClose() throws {
        // Queued, then opened for writing again before any worker ran.
        let first = TestAudio.bytes(2_000, seed: 1)
        try record("take.wav", first)
        engine.fileIsBeingWritten(path: "take.wav")
        XCTAssertEqual(try status("take.wav"), "local", "a file being written is local even with a record")

        startUploader()
        try assertStays("the old version is not uploaded while the file is written", for: 0.4) {
            try allPutCalls.isEmpty && (status("take.wav")) == "local"
        }
        let second = TestAudio.bytes(3_000, seed: 2)
        try writeFile("take.wav", second)
        try engine.fileWasWritten(path: "take.wav", stillOpen: false)
        let synced = try XCTUnwrap(waitForStatus("take.wav", .synced))
        XCTAssertEqual(object(synced.s3Key)?.data, second)
        XCTAssertEqual(allPutCalls.count, 1)
    }

    func testSyncedFileOpenedForWritingIsLocalThenSyncedWithNewContent() throws {
        startUploader()
        try record("take.wav", TestAudio.bytes(500, seed: 1))
        let firstSync = try XCTUnwrap(waitForStatus("take.wav", .synced))

        engine.fileIsBeingWritten(path: "take.wav")
        XCTAssertEqual(try status("take.wav"), "local")
        let second = TestAudio.bytes(800, seed: 2)
        try writeFile("take.wav", second)
        try engine.fileWasWritten(path: "take.wav", stillOpen: false)
        try waitUntil("the new version is synced") {
            let current = try storedRecord("take.wav")
            return current?.status == .synced && current?.generation != firstSync.generation
        }
        let current = try XCTUnwrap(storedRecord("take.wav"))
        XCTAssertEqual(current.s3Key, firstSync.s3Key, "the key stays; the object is replaced")
        XCTAssertEqual(object(current.s3Key)?.data, second)
        XCTAssertEqual(current.syncedSize, Int64(second.count))
    }

    // MARK: Renames and removals

    func testRenamingAPendingFileTakesTheNewKeyAndNeverUploadsTheOldOne() throws {
        try makeEngine(pattern: "{user_id}/{path}/{filename}")
        let data = TestAudio.bytes(1_234)
        try record("inbox/take.wav", data)
        let oldKey = try XCTUnwrap(storedRecord("inbox/take.wav")).s3Key
        XCTAssertEqual(oldKey, "alice/inbox/take.wav")

        try FileManager.default.createDirectory(at: url("done"), withIntermediateDirectories: true)
        XCTAssertEqual(rename(url("inbox/take.wav").path, url("done/final.wav").path), 0)
        try engine.itemRenamed(from: "inbox/take.wav", to: "done/final.wav", isDirectory: false)

        XCTAssertNil(try storedRecord("inbox/take.wav"))
        let moved = try XCTUnwrap(storedRecord("done/final.wav"))
        XCTAssertEqual(moved.s3Key, "alice/done/final.wav")
        XCTAssertEqual(moved.status, .pending)
        XCTAssertEqual(moved.priority, 8)
        XCTAssertEqual(try status("inbox/take.wav"), "local")

        startUploader()
        try waitForStatus("done/final.wav", .synced)
        XCTAssertEqual(object("alice/done/final.wav")?.data, data)
        XCTAssertEqual(object("alice/done/final.wav")?.metadata["original-name"], "final.wav")
        XCTAssertNil(object(oldKey))
        XCTAssertEqual(allPutCalls, ["PutObject \(Self.bucket)/alice/done/final.wav"])
    }

    func testRenamingAFolderMovesEveryFileBelowIt() throws {
        try makeEngine(pattern: "{user_id}/{path}/{filename}")
        try record("day1/a.wav", TestAudio.bytes(10, seed: 1))
        try record("day1/mics/b.wav", TestAudio.bytes(20, seed: 2))
        try record("day10/c.wav", TestAudio.bytes(30, seed: 3))

        XCTAssertEqual(rename(url("day1").path, url("monday").path), 0)
        try engine.itemRenamed(from: "day1", to: "monday", isDirectory: true)

        XCTAssertEqual(try queue.records(under: "").map(\.path), ["day10/c.wav", "monday/a.wav", "monday/mics/b.wav"])
        XCTAssertEqual(try storedRecord("monday/a.wav")?.s3Key, "alice/monday/a.wav")
        XCTAssertEqual(try storedRecord("monday/mics/b.wav")?.s3Key, "alice/monday/mics/b.wav")
        XCTAssertEqual(try storedRecord("day10/c.wav")?.s3Key, "alice/day10/c.wav", "a sibling with a common prefix stays")

        startUploader()
        for path in ["monday/a.wav", "monday/mics/b.wav", "day10/c.wav"] { try waitForStatus(path, .synced) }
        XCTAssertEqual(object("alice/monday/a.wav")?.data, TestAudio.bytes(10, seed: 1))
        XCTAssertEqual(object("alice/monday/mics/b.wav")?.data, TestAudio.bytes(20, seed: 2))
        XCTAssertEqual(Set(allPutCalls), ["PutObject \(Self.bucket)/alice/monday/a.wav",
                                         "PutObject \(Self.bucket)/alice/monday/mics/b.wav",
                                         "PutObject \(Self.bucket)/alice/day10/c.wav"])
    }

    func testRenamingASyncedFileUploadsItAgainUnderTheNewKeyAndKeepsTheOldObject() throws {
        try makeEngine(pattern: "{user_id}/{path}/{filename}")
        startUploader()
        let data = TestAudio.bytes(700)
        try record("take.wav", data)
        try waitForStatus("take.wav", .synced)
        XCTAssertEqual(object("alice/take.wav")?.data, data)

        XCTAssertEqual(rename(url("take.wav").path, url("keeper.wav").path), 0)
        try engine.itemRenamed(from: "take.wav", to: "keeper.wav", isDirectory: false)
        let moved = try XCTUnwrap(storedRecord("keeper.wav"))
        XCTAssertEqual(moved.s3Key, "alice/keeper.wav")
        XCTAssertEqual(moved.priority, 8)
        try waitForStatus("keeper.wav", .synced)
        XCTAssertEqual(object("alice/keeper.wav")?.data, data)
        XCTAssertEqual(object("alice/take.wav")?.data, data, "the old object stays as a backup")

        // The old key is retired: a new file with the old name does not overwrite that object.
        try record("take.wav", TestAudio.bytes(50, seed: 9))
        XCTAssertEqual(try storedRecord("take.wav")?.s3Key, "alice/take-2.wav")
    }

    func testRemovingAFileDropsItsRecord() throws {
        try record("take.wav", TestAudio.bytes(100))
        let key = try XCTUnwrap(storedRecord("take.wav")).s3Key
        XCTAssertEqual(unlink(url("take.wav").path), 0)
        try engine.itemRemoved(path: "take.wav", isDirectory: false)

        XCTAssertNil(try storedRecord("take.wav"))
        XCTAssertEqual(try status("take.wav"), "local")
        XCTAssertNil(try attribute("take.wav", "user.sync.s3key"))
        startUploader()
        assertStays("a removed file is never uploaded", for: 0.3) { allPutCalls.isEmpty }
        XCTAssertNil(object(key))
    }

    func testRemovingAFolderDropsEveryRecordBelowIt() throws {
        try record("old/a.wav", TestAudio.bytes(10))
        try record("old/deep/b.wav", TestAudio.bytes(10))
        try record("older.wav", TestAudio.bytes(10))
        try FileManager.default.removeItem(at: url("old"))
        try engine.itemRemoved(path: "old", isDirectory: true)
        XCTAssertEqual(try queue.records(under: "").map(\.path), ["older.wav"])
    }

    // MARK: Keys

    func testSameNameInTwoFoldersGetsANumberedKeyUnderTheDefaultPattern() throws {
        try record("morning/take.wav", TestAudio.bytes(10, seed: 1))
        try record("evening/take.wav", TestAudio.bytes(20, seed: 2))
        let first = try XCTUnwrap(storedRecord("morning/take.wav"))
        let second = try XCTUnwrap(storedRecord("evening/take.wav"))
        let prefix = String(first.s3Key.dropLast("take.wav".count))
        XCTAssertEqual(first.s3Key, try expectedKey("morning/take.wav", at: first.createdAt))
        XCTAssertTrue(first.s3Key.hasSuffix("/take.wav"))
        XCTAssertEqual(try expectedKey("evening/take.wav", at: second.createdAt), first.s3Key,
                       "both files render the same key (same user, month and name)")
        XCTAssertEqual(second.s3Key, prefix + "take-2.wav")

        startUploader()
        try waitForStatus("morning/take.wav", .synced)
        try waitForStatus("evening/take.wav", .synced)
        XCTAssertEqual(object(first.s3Key)?.data, TestAudio.bytes(10, seed: 1))
        XCTAssertEqual(object(second.s3Key)?.data, TestAudio.bytes(20, seed: 2))
    }
}
