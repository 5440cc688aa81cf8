import Foundation
import RecsyncS3
import RecsyncStore
import XCTest
@testable import RecsyncCore

/// How the engine handles the ways real programs write: the settle delay, reopening for writing,
/// temporary names, renames of uploaded files (server-side copies), mirrored deletes and
/// folder status. The filesystem's hooks are called as PassthroughFS calls them.
final class RealClientEngineTests: EngineTestCase {
    func rename(_ from: String, _ to: String, isDirectory: Bool = false) throws {
        try FileManager.default.createDirectory(at: url(to).deletingLastPathComponent(), withIntermediateDirectories: true)
        guard Glibc.rename(url(from).path, url(to).path) == 0 else { throw posixError("rename \(from)") }
        try engine.itemRenamed(from: from, to: to, isDirectory: isDirectory)
    }

    func remove(_ path: String) throws {
        try FileManager.default.removeItem(at: url(path))
        try engine.itemRemoved(path: path, isDirectory: false)
    }

    var copyCalls: [String] { s3.calls.filter { $0.hasPrefix("CopyObject ") } }

    // MARK: Settle delay

    func testUploadWaitsForTheSettleDelayAndAReopenInsideItRestartsIt() throws {
        try makeEngine { $0.settleDelay = 0.6 }
        startUploader()
        let closed = Date()
        try record("take1.wav", TestAudio.wav(seconds: 0.2))
        XCTAssertNotNil(try storedRecord("take1.wav")?.nextAttemptAt, "queued durably, due after the settle delay")
        usleep(300_000)
        // The recorder comes back to patch its header (WAV writers seek back at the end).
        engine.fileOpenedForWriting(path: "take1.wav")
        let final = TestAudio.wav(seconds: 0.3)
        try record("take1.wav", final)
        try assertStays("nothing is uploaded while the file settles", for: 0.4) { allPutCalls.isEmpty }
        try waitForStatus("take1.wav", .synced, timeout: 5)
        XCTAssertGreaterThan(Date().timeIntervalSince(closed), 0.9)
        XCTAssertEqual(allPutCalls.count, 1, "one upload, of the final bytes")
        XCTAssertEqual(object(try XCTUnwrap(storedRecord("take1.wav")).s3Key)?.data, final)
    }

    func testClosesOfSettlingFilesCostTheRunnerNoPassAndEachUploadsWhenItsDelayEnds() throws {
        try makeEngine { $0.settleDelay = 2 }
        let runner = startUploader()
        try waitUntil("the runner made its first pass and sleeps") { runner.activity.passes >= 1 && runner.activity.asleep }
        let before = runner.activity.passes
        let closed = Date()
        let names = (0..<20).map { "take\($0).wav" }
        for name in names { try record(name, TestAudio.wav(seconds: 0.05)) }
        // Only the end of the first delay is in the runner's calendar; no close made it look.
        XCTAssertEqual(runner.activity.passes, before, "closes of files still settling wake no pass")
        for name in names { try waitForStatus(name, .synced, timeout: 10) }
        let took = Date().timeIntervalSince(closed)
        XCTAssertGreaterThan(took, 1.95, "nothing starts before its settle delay")
        XCTAssertLessThan(took, 12, "the runner's 30 s sleep was brought forward to the first file's delay")
        XCTAssertEqual(allPutCalls.count, names.count)
    }

    func testAFileAskedForAndWrittenAgainGoesAtItsCloseNotAfterTheSettleDelay() throws {
        try makeEngine { $0.settleDelay = 30 }
        let gated = GatedS3Client(inner: s3, stage: .beforeSending)
        let runner = startUploader(client: gated)
        try record("take1.wav", TestAudio.wav(seconds: 0.2))
        try engine.syncNow(path: "take1.wav")  // asked for: it goes now, settle delay or not
        try waitUntil("the upload is in flight") { gated.arrivals.count == 1 }
        engine.fileOpenedForWriting(path: "take1.wav")  // the recorder comes back to its header
        try waitForStatus("take1.wav", .pending)
        gated.open()
        try waitUntil("the runner sleeps") { runner.activity.asleep }
        let final = TestAudio.wav(seconds: 0.3)
        try record("take1.wav", final)
        // Still asked for: its close makes the runner look at once, not in 30 s.
        try waitForStatus("take1.wav", .synced, timeout: 10)
        XCTAssertEqual(object(try XCTUnwrap(storedRecord("take1.wav")).s3Key)?.data, final)
    }

    func testReopenForWritingDuringAnUploadCancelsItUntilTheWritersAreReleased() throws {
        let gated = GatedS3Client(inner: s3, stage: .beforeSending)
        startUploader(client: gated)
        try record("take1.wav", TestAudio.wav(seconds: 0.2))
        try waitUntil("the upload is in flight") { gated.arrivals.count == 1 }
        engine.fileOpenedForWriting(path: "take1.wav")
        try waitForStatus("take1.wav", .pending)
        gated.open()
        try assertStays("it waits while a writer holds it open", for: 0.5) { try storedRecord("take1.wav")?.status == .pending }
        engine.fileWritersReleased(path: "take1.wav")  // closed again without writing
        try waitForStatus("take1.wav", .synced)
        XCTAssertEqual(try storedRecord("take1.wav")?.attempts, 0, "a cancelled upload counts no attempt")
    }

    // MARK: Temporary names

    func testIgnoredNamesStayLocalAndAreQueuedWhenRenamedToTheirFinalName() throws {
        try makeEngine { $0.ignorePatterns = RecsyncConfig.defaultIgnorePatterns }
        startUploader()
        let data = TestAudio.wav(seconds: 0.2)
        for scratch in ["take1.wav.part", ".take1.wav.swp", ".goutputstream-X1Y2Z3", "~$notes.docx", ".#notes.txt", "a.tmp"] {
            try record(scratch, data)
            XCTAssertNil(try storedRecord(scratch), scratch)
            XCTAssertEqual(try status(scratch), "local", scratch)
        }
        // A browser finishes its download; GNOME Files finishes a save.
        try rename("take1.wav.part", "take1.wav")
        try rename(".goutputstream-X1Y2Z3", "notes.txt")
        try waitForStatus("take1.wav", .synced)
        try waitForStatus("notes.txt", .synced)
        XCTAssertTrue(s3.calls.allSatisfy { !$0.contains(".part") && !$0.contains("goutputstream") }, "\(s3.calls)")
        XCTAssertEqual(allPutCalls.count, 2)
    }

    func testRenamingAQueuedFileToAScratchNameDropsIt() throws {
        try makeEngine { $0.ignorePatterns = ["*.tmp"]; $0.settleDelay = 5 }
        startUploader()
        try record("take1.wav", TestAudio.wav(seconds: 0.2))
        try rename("take1.wav", "take1.wav.tmp")
        XCTAssertNil(try storedRecord("take1.wav.tmp"))
        XCTAssertNil(try storedRecord("take1.wav"))
        XCTAssertEqual(try status("take1.wav.tmp"), "local")
    }

    func testTempFileThenRenameUploadsOnlyTheFinalName() throws {
        // rsync's temporary names (".take1.wav.Xa81Kq") match no pattern: the settle delay keeps
        // them from being uploaded before the rename that follows the close.
        try makeEngine { $0.settleDelay = 0.5 }
        startUploader()
        try record(".take1.wav.Xa81Kq", TestAudio.wav(seconds: 0.2))
        try rename(".take1.wav.Xa81Kq", "take1.wav")
        try waitForStatus("take1.wav", .synced)
        XCTAssertEqual(allPutCalls.count, 1)
        XCTAssertTrue(allPutCalls[0].hasSuffix("/take1.wav"), "\(allPutCalls)")
    }

    func testTempFileRenamedOverASyncedFileUpdatesItsObject() throws {
        try makeEngine { $0.settleDelay = 0.3 }
        startUploader()
        try record("take1.wav", TestAudio.wav(seconds: 0.2))
        let first = try XCTUnwrap(waitForStatus("take1.wav", .synced))
        // rsync updating the file: a temporary copy, then a rename over the real name.
        let second = TestAudio.wav(seconds: 0.5)
        try record(".take1.wav.Xa81Kq", second)
        try rename(".take1.wav.Xa81Kq", "take1.wav")
        let updated = try XCTUnwrap(waitForStatus("take1.wav", .synced))
        XCTAssertEqual(updated.s3Key, first.s3Key, "the name's object is updated, not joined by take1-2.wav")
        XCTAssertEqual(object(first.s3Key)?.data, second)
        XCTAssertEqual(try s3.listObjects(bucket: Self.bucket, prefix: "").count, 1)
        XCTAssertNil(try storedRecord(".take1.wav.Xa81Kq"))
    }

    // MARK: Renames of uploaded files

    func testRenamedSyncedFileIsCopiedOnTheServerAndTheOldObjectStays() throws {
        startUploader()
        let data = TestAudio.wav(seconds: 0.2)
        try record("take1.wav", data)
        let first = try XCTUnwrap(waitForStatus("take1.wav", .synced))
        try rename("take1.wav", "interviews/alice.wav")
        let moved = try XCTUnwrap(waitForStatus("interviews/alice.wav", .synced))
        XCTAssertNotEqual(moved.s3Key, first.s3Key)
        XCTAssertEqual(copyCalls.count, 1, "\(s3.calls)")
        XCTAssertEqual(allPutCalls.count, 1, "no byte was uploaded again")
        XCTAssertEqual(object(moved.s3Key)?.data, data)
        XCTAssertEqual(object(moved.s3Key)?.metadata[ObjectMetadata.originalNameKey], "alice.wav")
        XCTAssertEqual(object(first.s3Key)?.data, data, "mirror_deletes is off: the bucket keeps the old object")
        XCTAssertNil(moved.renamedFrom, "done with the old key")
    }

    func testWithMirrorDeletesTheOldObjectGoesAfterTheCopyAndDeletesFollow() throws {
        try makeEngine { $0.mirrorDeletes = true }
        startUploader()
        try record("take1.wav", TestAudio.wav(seconds: 0.2))
        try record("take2.wav", TestAudio.wav(seconds: 0.3))
        let one = try XCTUnwrap(waitForStatus("take1.wav", .synced))
        let two = try XCTUnwrap(waitForStatus("take2.wav", .synced))
        try rename("take1.wav", "final.wav")
        let moved = try XCTUnwrap(waitForStatus("final.wav", .synced))
        try waitUntil("the old object is deleted") { object(one.s3Key) == nil }
        XCTAssertNotNil(object(moved.s3Key))
        try remove("take2.wav")
        try waitUntil("the deleted file's object is deleted") { object(two.s3Key) == nil }
        XCTAssertTrue(try queue.pendingDeletes().isEmpty)
    }

    func testUnlinkOfASyncedFileKeepsItsObjectByDefault() throws {
        startUploader()
        try record("take1.wav", TestAudio.wav(seconds: 0.2))
        let synced = try XCTUnwrap(waitForStatus("take1.wav", .synced))
        try remove("take1.wav")
        usleep(300_000)
        XCTAssertNotNil(object(synced.s3Key))
        XCTAssertFalse(s3.calls.contains { $0.hasPrefix("DeleteObject") })
    }

    func testRenamedThenChangedFileIsUploadedNotCopied() throws {
        try makeEngine { $0.mirrorDeletes = true }
        let gated = GatedS3Client(inner: s3, stage: .beforeSending)
        gated.open()
        startUploader(client: gated)
        try record("take1.wav", TestAudio.wav(seconds: 0.2))
        let first = try XCTUnwrap(waitForStatus("take1.wav", .synced))
        uploader?.stop(grace: 1)
        try rename("take1.wav", "take1-edit.wav")
        let edited = TestAudio.wav(seconds: 0.4)
        try record("take1-edit.wav", edited)
        startUploader(client: gated)
        let moved = try XCTUnwrap(waitForStatus("take1-edit.wav", .synced))
        XCTAssertTrue(copyCalls.isEmpty, "changed bytes are uploaded: \(s3.calls)")
        XCTAssertEqual(object(moved.s3Key)?.data, edited)
        try waitUntil("the old object is deleted (mirror_deletes)") { object(first.s3Key) == nil }
    }

    func testFolderRenameCopiesEveryFileAndFallsBackToUploadWhenTheOldObjectIsGone() throws {
        startUploader()
        try record("day1/a.wav", TestAudio.wav(seconds: 0.2))
        try record("day1/b.wav", TestAudio.wav(seconds: 0.3))
        let a = try XCTUnwrap(waitForStatus("day1/a.wav", .synced))
        try waitForStatus("day1/b.wav", .synced)
        try s3.deleteObject(bucket: Self.bucket, key: a.s3Key)  // someone cleaned the bucket up
        try rename("day1", "2026-12-01", isDirectory: true)
        try waitForStatus("2026-12-01/a.wav", .synced)
        try waitForStatus("2026-12-01/b.wav", .synced)
        XCTAssertEqual(copyCalls.count, 2, "\(s3.calls)")
        XCTAssertEqual(allPutCalls.count, 3, "b.wav was copied; a.wav's old object was gone, so it was uploaded")
        XCTAssertEqual(object(try XCTUnwrap(storedRecord("2026-12-01/a.wav")).s3Key)?.data, try contents("2026-12-01/a.wav"))
    }

    // MARK: Folder status

    func testFolderStatusIsSyncedOnlyWhenEveryFileIs() throws {
        try makeEngine { $0.ignorePatterns = ["*.tmp"]; $0.settleDelay = 0 }
        let gated = GatedS3Client(inner: s3, stage: .beforeSending)
        startUploader(client: gated)
        func folder(_ path: String) throws -> String? { try engine.syncAttribute(path: path, name: "user.sync.status", isDirectory: true) }
        try FileManager.default.createDirectory(at: url("empty"), withIntermediateDirectories: true)
        XCTAssertEqual(try folder("empty"), "synced")
        try record("s/a.wav", TestAudio.wav(seconds: 0.2))
        try waitUntil("uploading") { gated.arrivals.count == 1 }
        XCTAssertEqual(try folder("s"), "syncing")
        try writeFile("s/scratch.tmp", TestAudio.bytes(10))
        gated.open()
        try waitForStatus("s/a.wav", .synced)
        XCTAssertEqual(try folder("s"), "synced", "ignored scratch files do not count")
        engine.fileIsBeingWritten(path: "s/sub/new.wav")
        try writeFile("s/sub/new.wav", TestAudio.bytes(10))
        XCTAssertEqual(try folder("s"), "local", "a file being written")
        XCTAssertEqual(try folder(""), "local")
        s3.failNext(1, with: S3Error(.http(status: 403, code: "AccessDenied", message: "no", requestId: nil)))
        try record("s/sub/new.wav", TestAudio.bytes(20))
        try waitForStatus("s/sub/new.wav", .failed)
        XCTAssertEqual(try folder("s"), "failed")
        XCTAssertEqual(try folder("s/sub"), "failed")
    }
}
