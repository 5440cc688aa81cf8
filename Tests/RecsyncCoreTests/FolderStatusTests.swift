import Foundation
import RecsyncFS
import RecsyncS3
@testable import RecsyncStore
import XCTest
@testable import RecsyncCore

/// A folder's `user.sync.status` is answered from the queue's index and the engine's memory, at
/// a cost that follows the unfinished files looked at, and counts only the files its caller could
/// ask about one by one (docs/THREAT_MODEL.md).
final class FolderStatusTests: EngineTestCase {
    let other = PassthroughFS.Caller(uid: 1000, gid: 1000, groups: { [] })

    func folder(_ path: String, _ caller: PassthroughFS.Caller? = nil) throws -> String? {
        try engine.syncAttribute(path: path, name: "user.sync.status", isDirectory: true, caller: caller)
    }

    func chmod(_ path: String, _ mode: mode_t) {
        XCTAssertEqual(Glibc.chmod(url(path).path, mode), 0, path)
    }

    func chown(_ path: String, _ uid: uid_t, _ gid: gid_t) {
        XCTAssertEqual(Glibc.chown(url(path).path, uid, gid), 0, path)
    }

    func testNoFolderIsSyncedBeforeTheStartUpScanHasQueuedWhatItFound() throws {
        try writeFile("day/a.wav", TestAudio.bytes(100))
        engine.awaitScan()
        XCTAssertEqual(try folder("day"), "local", "a file made while recsync was stopped has no record yet")
        XCTAssertEqual(try folder(""), "local")
        try FileManager.default.createDirectory(at: url("empty"), withIntermediateDirectories: true)
        XCTAssertEqual(try folder("empty"), "local", "until the scan ends nothing can be called synced")
        Scanner(engine: engine, logger: logger).run()
        XCTAssertEqual(try folder("day"), "pending")
        startUploader()
        try waitForStatus("day/a.wav", .synced)
        XCTAssertEqual(try folder("day"), "synced")
        XCTAssertEqual(try folder("empty"), "synced")
        XCTAssertEqual(try folder(""), "synced")
    }

    func testAFileBeingWrittenOrWithoutAKeyIsLocal() throws {
        startUploader()
        try record("s/a.wav", TestAudio.bytes(100))
        try waitForStatus("s/a.wav", .synced)
        engine.fileIsBeingWritten(path: "s/a.wav")
        XCTAssertEqual(try folder("s"), "local", "its record says synced, but the bytes are changing")
        try engine.fileWasWritten(path: "s/a.wav", stillOpen: false)
        try waitForStatus("s/a.wav", .synced)
        XCTAssertEqual(try folder("s"), "synced")
        XCTAssertEqual(try folder("s-sibling"), "synced", "a folder whose name starts like another's is not inside it")
    }

    func testAFileTheQueueCouldNotTakeKeepsItsFolderFromSayingSynced() throws {
        startUploader()
        try record("s/a.wav", TestAudio.bytes(10))
        try waitForStatus("s/a.wav", .synced)
        // The queue's database refuses writes (a full disk under the state folder).
        try queue.locked { try queue.db.execute("PRAGMA query_only = ON", operation: "make the queue read-only") }
        engine.fileIsBeingWritten(path: "s/b.wav")
        try writeFile("s/b.wav", TestAudio.bytes(20))
        XCTAssertThrowsError(try engine.fileWasWritten(path: "s/b.wav", stillOpen: false))
        XCTAssertNil(try storedRecord("s/b.wav"))
        XCTAssertEqual(try folder("s"), "local", "b.wav is in no record, yet the folder is not synced")
        try queue.locked { try queue.db.execute("PRAGMA query_only = OFF", operation: "make the queue writable") }
        try engine.fileWasWritten(path: "s/b.wav", stillOpen: false)
        try waitForStatus("s/b.wav", .synced)
        XCTAssertEqual(try folder("s"), "synced", "queued at last, and uploaded")
    }

    func testAFileWhoseKeyCannotBeMadeIsLocal() throws {
        try makeEngine(pattern: "{path}/{filename}")
        try record("s/a.wav", TestAudio.bytes(10))
        let deep = "t/" + (0..<5).map { _ in String(repeating: "x", count: 250) }.joined(separator: "/") + "/b.wav"
        try record(deep, TestAudio.bytes(10))
        XCTAssertNil(try storedRecord(deep))
        XCTAssertNotEqual(try attribute(deep, "user.sync.error"), "", "its key would be longer than S3 allows")
        XCTAssertEqual(try folder("t"), "local")
        XCTAssertEqual(try folder("s"), "pending", "a.wav has a key and waits for the uploader")
    }

    func testAFolderCountsOnlyFilesTheCallerCouldAskAbout() throws {
        startUploader()
        try record("shared/open.wav", TestAudio.bytes(100))
        try waitForStatus("shared/open.wav", .synced)
        try FileManager.default.createDirectory(at: url("shared/secret"), withIntermediateDirectories: true)
        chmod("shared/secret", 0o700)
        s3.failNext(1, with: S3Error(.http(status: 403, code: "AccessDenied", message: "no", requestId: nil)))
        try record("shared/secret/take.wav", TestAudio.bytes(20))
        try waitForStatus("shared/secret/take.wav", .failed)
        chmod("shared/secret/take.wav", 0o644)

        XCTAssertEqual(try folder("shared"), "failed", "the daemon itself sees everything")
        XCTAssertEqual(try folder("shared", PassthroughFS.Caller(uid: 0, gid: 0)), "failed", "so does root")
        XCTAssertEqual(try folder("shared", other), "synced", "another user cannot enter secret/")
        XCTAssertEqual(try folder("", other), "synced")

        chmod("shared/secret", 0o711)
        XCTAssertEqual(try folder("shared", other), "failed", "search permission is enough to ask take.wav by name")
        chmod("shared/secret/take.wav", 0o600)
        XCTAssertEqual(try folder("shared", other), "synced", "but not read permission on the file")
        chown("shared/secret/take.wav", 1000, 1000)
        XCTAssertEqual(try folder("shared", other), "failed", "its owner may read it")
        chmod("shared/secret/take.wav", 0o044)
        XCTAssertEqual(try folder("shared", other), "synced", "the owner's bits decide for the owner, as in the kernel")

        chown("shared/secret/take.wav", 0, 1234)
        chmod("shared/secret/take.wav", 0o640)
        XCTAssertEqual(try folder("shared", PassthroughFS.Caller(uid: 1000, gid: 1000, groups: { [1234] })), "failed",
                       "a supplementary group counts")
        XCTAssertEqual(try folder("shared", PassthroughFS.Caller(uid: 1000, gid: 1234)), "failed", "so does the primary group")
        XCTAssertEqual(try folder("shared", other), "synced")
    }

    func testACallerWhoSeesOnlyTheLastOfManyUnfinishedFilesStillSeesIt() throws {
        try FileManager.default.createDirectory(at: url("a/hidden"), withIntermediateDirectories: true)
        let hidden = SyncEngine.folderStatusPage + 40
        for index in 0..<hidden { try record(String(format: "a/hidden/%04d.wav", index), TestAudio.bytes(10)) }
        chmod("a/hidden", 0o700)
        XCTAssertEqual(try folder("a", other), "synced", "nothing pending that this user may see")
        try record("a/zz.wav", TestAudio.bytes(10))
        XCTAssertEqual(try folder("a", other), "pending", "found after more than one page of records it may not see")

        // Past the check limit every file counts as seen: the answer may say more than the caller
        // could learn alone, never `synced` for a folder that is not.
        try FileManager.default.removeItem(at: url("a/zz.wav"))
        try engine.itemRemoved(path: "a/zz.wav", isDirectory: false)
        XCTAssertEqual(try engine.folderStatus("a", caller: other).rawValue, "synced")
        XCTAssertEqual(try engine.folderStatus("a", caller: other, checkLimit: 3).rawValue, "pending")
        XCTAssertEqual(try engine.folderStatus("a", caller: other, checkLimit: hidden).rawValue, "pending",
                       "the limit reached: the answer no longer depends on the rows after it")
        XCTAssertEqual(try engine.folderStatus("a", caller: other, checkLimit: hidden + 1).rawValue, "synced")
    }

    func testTheWholeMountSummaryIsForItsOwnerAndRoot() throws {
        try record("take.wav", TestAudio.bytes(10))
        let summary = SyncEngine.summaryAttribute
        XCTAssertNotNil(try engine.syncAttribute(path: "", name: summary, isDirectory: true, caller: nil))
        XCTAssertNotNil(try engine.syncAttribute(path: "", name: summary, isDirectory: true,
                                                 caller: PassthroughFS.Caller(uid: geteuid(), gid: getegid())))
        XCTAssertThrowsError(try engine.syncAttribute(path: "", name: summary, isDirectory: true, caller: other)) { error in
            XCTAssertEqual((error as? FSError)?.errno, EACCES)
        }
        XCTAssertEqual(engine.syncAttributeNames(path: "", isDirectory: true, caller: other), ["user.sync.status"])
        XCTAssertEqual(engine.syncAttributeNames(path: "", isDirectory: true, caller: nil), ["user.sync.status", summary])
        XCTAssertEqual(try folder("", other), "pending", "the root folder's own status is the caller's share of it")
    }
}
