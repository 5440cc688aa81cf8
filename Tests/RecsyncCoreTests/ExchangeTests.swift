import CSysShims
import Foundation
import XCTest
@testable import RecsyncCore

/// renameat2 with RENAME_EXCHANGE: each name ends with an object holding what now stands there.
final class ExchangeTests: EngineTestCase {
    /// Records each file and waits until the uploader has synced them all.
    func recordSynced(_ files: [(String, Data)]) throws {
        for (path, data) in files { try record(path, data) }
        startUploader()
        for (path, _) in files { try waitForStatus(path, .synced) }
    }

    func exchange(_ first: String, _ second: String) throws {
        XCTAssertEqual(recsync_renameat2(AT_FDCWD, url(first).path, AT_FDCWD, url(second).path, UInt32(recsync_RENAME_EXCHANGE)), 0)
        try engine.itemsExchanged(first, second)
    }

    func testTwoSyncedFilesSwappedEndWithBothObjectsRight() throws {
        try makeEngine(pattern: "{user_id}/{path}/{filename}")
        let a = TestAudio.bytes(3_000, seed: 1), b = TestAudio.bytes(5_000, seed: 2)
        try recordSynced([("a.wav", a), ("b.wav", b)])

        try exchange("a.wav", "b.wav")
        try waitForStatus("a.wav", .synced)
        try waitForStatus("b.wav", .synced)
        XCTAssertEqual(object("alice/a.wav")?.data, b, "a.wav's object holds what a.wav holds now")
        XCTAssertEqual(object("alice/b.wav")?.data, a)
        XCTAssertEqual(try storedRecord("a.wav")?.s3Key, "alice/a.wav", "each name keeps its key")
    }

    func testAFileHeldOpenWithoutWritesIsQueuedToo() throws {
        try makeEngine(pattern: "{user_id}/{filename}")
        let a = TestAudio.bytes(700, seed: 5), b = TestAudio.bytes(900, seed: 6)
        try recordSynced([("a.wav", a), ("b.wav", b)])
        engine.fileOpenedForWriting(path: "b.wav")  // a program holds b.wav open read-write, writes nothing

        try exchange("a.wav", "b.wav")
        engine.fileWritersReleased(path: "a.wav")  // its handle now names a.wav; it closes
        try waitForStatus("a.wav", .synced)
        try waitForStatus("b.wav", .synced)
        XCTAssertTrue(waitUntil("both objects hold the swapped bytes") {
            self.object("alice/a.wav")?.data == b && self.object("alice/b.wav")?.data == a
        })
    }

    func testAFolderSwappedWithAnotherMovesEveryFileBelowThem() throws {
        try makeEngine(pattern: "{user_id}/{path}/{filename}")
        let one = TestAudio.bytes(100, seed: 3), two = TestAudio.bytes(200, seed: 4)
        try recordSynced([("x/1.wav", one), ("y/2.wav", two)])

        try exchange("x", "y")
        try waitForStatus("x/2.wav", .synced)
        try waitForStatus("y/1.wav", .synced)
        XCTAssertEqual(try queue.records(under: "").map(\.path), ["x/2.wav", "y/1.wav"], "records of names that are gone are dropped")
        XCTAssertEqual(object("alice/x/2.wav")?.data, two)
        XCTAssertEqual(object("alice/y/1.wav")?.data, one)
    }
}
