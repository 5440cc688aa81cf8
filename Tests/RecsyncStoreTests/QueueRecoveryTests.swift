import Foundation
import XCTest
@testable import RecsyncStore

/// The queue file lost or damaged while recsync was stopped: recsync starts anyway with a new
/// queue, and a damaged file is moved aside, never deleted.
final class QueueRecoveryTests: QueueTestCase {
    func open() throws -> (SyncQueue, QueueRecovery?) {
        let opened = try SyncQueue.openRecovering(databasePath: databasePath, now: clock.function)
        addTeardownBlock { opened.0.close() }
        return opened
    }

    func asideFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: (databasePath as NSString).deletingLastPathComponent)
            .filter { $0.contains(".damaged-") }.sorted()
    }

    func testAGoodQueueOpensAsItIs() throws {
        let first = try openQueue()
        try first.add("a.wav")
        first.close()
        let (queue, recovery) = try open()
        XCTAssertNil(recovery)
        XCTAssertEqual(try queue.record(path: "a.wav")?.status, .pending)
        XCTAssertEqual(try asideFiles(), [])
    }

    func testAMissingQueueIsCreatedAndSaysSo() throws {
        let (queue, recovery) = try open()
        XCTAssertEqual(recovery, .created)
        XCTAssertEqual(try queue.records(under: ""), [])
    }

    func testAFileThatIsNotADatabaseIsMovedAsideAndReplaced() throws {
        try FileManager.default.createDirectory(atPath: (databasePath as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        let garbage = Data((0..<10_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try garbage.write(to: URL(fileURLWithPath: databasePath))
        let (queue, recovery) = try open()
        guard case .replacedDamaged(_, let movedTo)? = recovery else { return XCTFail("\(String(describing: recovery))") }
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: movedTo)), garbage, "the damaged file is kept, byte for byte")
        try queue.add("b.wav")
        XCTAssertEqual(try queue.record(path: "b.wav")?.status, .pending, "the new queue works")
        XCTAssertTrue(recovery!.description.contains(movedTo), recovery!.description)
    }

    func testATruncatedQueueIsMovedAsideAndReplaced() throws {
        let first = try openQueue()
        for index in 0..<2_000 { try first.add("take-\(index).wav") }
        first.close()
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: databasePath))
        let size = try handle.seekToEnd()
        try handle.truncate(atOffset: size / 3)
        try handle.close()
        try? FileManager.default.removeItem(atPath: databasePath + "-wal")
        let (queue, recovery) = try open()
        guard case .replacedDamaged? = recovery else { return XCTFail("\(String(describing: recovery))") }
        XCTAssertEqual(try asideFiles().count, 1)
        XCTAssertEqual(try queue.records(under: ""), [])
    }

    func testAQueueInUseIsNotTakenForDamage() throws {
        let owner = try openQueue()
        try owner.add("c.wav")
        XCTAssertThrowsError(try SyncQueue.openRecovering(databasePath: databasePath, now: clock.function)) { error in
            guard case StoreError.inUse? = error as? StoreError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try asideFiles(), [], "nothing is moved")
        XCTAssertEqual(try owner.record(path: "c.wav")?.status, .pending)
    }
}
