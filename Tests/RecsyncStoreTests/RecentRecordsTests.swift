import Foundation
import XCTest
@testable import RecsyncStore

/// `record(path:)` answers a file nothing changed from what it last read (`RecentRecords`), and
/// never a record any write of the queue has changed since.
final class RecentRecordsTests: QueueTestCase {
    func testEveryChangeOfTheQueueIsSeenByTheNextRead() throws {
        let queue = try openQueue()
        XCTAssertNil(try queue.record(path: "take1.wav"))
        XCTAssertNil(try queue.record(path: "take1.wav"), "known not to be queued, read again")
        try queue.add("take1.wav")
        XCTAssertEqual(try queue.record(path: "take1.wav")?.status, .pending, "queued since")
        XCTAssertEqual(try queue.record(path: "take1.wav")?.status, .pending)
        try queue.upload("take1.wav")
        XCTAssertEqual(try queue.record(path: "take1.wav")?.status, .synced)
        _ = try queue.rename(from: "take1.wav", to: "keep/take1.wav")
        XCTAssertNil(try queue.record(path: "take1.wav"), "renamed away")
        XCTAssertEqual(try queue.record(path: "keep/take1.wav")?.status, .synced)
        _ = try queue.remove(path: "keep/take1.wav")
        XCTAssertNil(try queue.record(path: "keep/take1.wav"), "removed")
    }

    func testAChangeMadeOnTheConnectionDirectlyIsSeenToo() throws {
        let queue = try openQueue()
        try queue.add("take1.wav")
        XCTAssertEqual(try queue.record(path: "take1.wav")?.attempts, 0)
        try queue.withDatabase { db in
            _ = try db.run("UPDATE files SET attempts = 7 WHERE path = 'take1.wav'", operation: "test")
        }
        XCTAssertEqual(try queue.record(path: "take1.wav")?.attempts, 7, "any row changed forgets what was read")
    }

    func testNamesAreBytesNFCAndNFDAreTwoFiles() throws {
        let queue = try openQueue()
        let nfc = "caf\u{E9}.wav", nfd = "cafe\u{301}.wav"
        XCTAssertEqual(nfc, nfd, "Swift calls them equal; the queue must not")
        try queue.add(nfc, key: "rec/nfc.wav")
        XCTAssertEqual(try queue.record(path: nfc)?.s3Key, "rec/nfc.wav")
        XCTAssertNil(try queue.record(path: nfd), "the NFD name is another file, not queued")
        try queue.add(nfd, key: "rec/nfd.wav")
        XCTAssertEqual(try queue.record(path: nfd)?.s3Key, "rec/nfd.wav")
        XCTAssertEqual(try queue.record(path: nfc)?.s3Key, "rec/nfc.wav")
    }

    func testTheStoreKeepsAtMostItsCapacityAndForgetsAllAtAChange() {
        var recent = RecentRecords()
        func name(_ text: String) -> [UInt8] { Array(text.utf8) }
        for index in 0..<RecentRecords.capacity {
            recent.store(nil, for: name("f\(index)"), changes: 5)
        }
        XCTAssertNotNil(recent.lookup(name("f0"), changes: 5), "full: still kept")
        recent.store(nil, for: name("one-more"), changes: 5)
        XCTAssertNil(recent.lookup(name("f0"), changes: 5), "one more than its capacity forgets them")
        XCTAssertNotNil(recent.lookup(name("one-more"), changes: 5))
        XCTAssertNil(recent.lookup(name("one-more"), changes: 6), "a change forgets them")
        recent.store(nil, for: name("late"), changes: 5)
        XCTAssertNil(recent.lookup(name("late"), changes: 6), "read before a change, never answered after it")
    }

    func testAClosedQueueSaysSoInsteadOfAnsweringFromMemory() throws {
        let first = try openQueue()
        try first.add("take1.wav")
        first.close()
        // Opened again with nothing to recover: no row has changed on this connection yet, the
        // count SQLite keeps is 0, and 0 is also what a closed connection reports.
        let queue = try openQueue()
        XCTAssertNotNil(try queue.record(path: "take1.wav"))
        queue.close()
        XCTAssertThrowsError(try queue.record(path: "take1.wav")) { error in
            guard case .closed = error as? StoreError else { return XCTFail("not StoreError.closed: \(error)") }
        }
    }
}
