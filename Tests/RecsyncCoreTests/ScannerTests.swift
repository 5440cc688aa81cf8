import Foundation
import RecsyncS3
import RecsyncStore
import Synchronization
import XCTest
@testable import RecsyncCore

/// The startup scan: files that changed while recsync was not running.
final class ScannerTests: EngineTestCase {
    func testNewFilesAreQueuedAtNormalPriority() throws {
        try writeFile("a.wav", TestAudio.bytes(10, seed: 1))
        try writeFile("day1/b.wav", TestAudio.bytes(20, seed: 2))
        try writeFile("day1/deep/c.flac", TestAudio.bytes(30, seed: 3))
        try FileManager.default.createDirectory(at: url("empty"), withIntermediateDirectories: true)
        XCTAssertEqual(symlink("a.wav", url("link.wav").path), 0)

        let result = Scanner(engine: engine, logger: logger).run()
        XCTAssertEqual(result, Scanner.Result(queued: 3, removed: 0, seen: 3))
        let records = try queue.records(under: "")
        XCTAssertEqual(records.map(\.path), ["a.wav", "day1/b.wav", "day1/deep/c.flac"], "symbolic links are not files to upload")
        for record in records {
            XCTAssertEqual(record.status, .pending, record.path)
            XCTAssertEqual(record.priority, Priority.normal.rawValue, record.path)
            XCTAssertEqual(record.priority, 5, record.path)
            XCTAssertEqual(record.s3Key, try expectedKey(record.path, at: record.createdAt))
        }
        XCTAssertEqual(try storedRecord("day1/b.wav")?.size, 20)

        startUploader()
        for record in records { try waitForStatus(record.path, .synced) }
        XCTAssertEqual(object(try XCTUnwrap(storedRecord("day1/deep/c.flac")).s3Key)?.data, TestAudio.bytes(30, seed: 3))
    }

    /// More files than one batch: every one is queued, once, with its own key and a `pending`
    /// event, and an ignored name among them stays out.
    func testAScanOfManyFilesQueuesEachInBatches() throws {
        let count = Scanner.batchSize * 2 + 17
        for index in 0..<count { try writeFile("many/take\(index).wav", TestAudio.bytes(5, seed: UInt8(index % 200))) }
        try writeFile("many/scratch.wav.part", TestAudio.bytes(5, seed: 1))
        try makeEngine { $0.ignorePatterns = ["*.part"] }
        let events = Mutex<[StatusChange]>([])
        engine.setStatusHandler { change in events.withLock { $0.append(change) } }
        let result = Scanner(engine: engine, logger: logger).run()
        XCTAssertEqual(result.queued, count)
        XCTAssertEqual(result.seen, count + 1)
        let records = try queue.records(under: "many")
        XCTAssertEqual(records.count, count)
        XCTAssertEqual(Set(records.map(\.s3Key)).count, count, "every file has its own key")
        XCTAssertNil(try storedRecord("many/scratch.wav.part"))
        let pending = events.withLock { $0 }.filter { $0.status == .pending && $0.previous == .local }
        XCTAssertEqual(Set(pending.map(\.path)).count, count)
        XCTAssertEqual(pending.count, count, "one event per file")
    }

    func testScanRequeuesChangedFilesDropsDeletedOnesAndLeavesTheRestAlone() throws {
        // A first run syncs four files, then stops.
        let running = startUploader()
        for (index, name) in ["same.wav", "grown.wav", "touched.wav", "gone.wav"].enumerated() {
            try record(name, TestAudio.bytes(100, seed: UInt8(index)))
        }
        var synced: [String: FileRecord] = [:]
        for name in ["same.wav", "grown.wav", "touched.wav", "gone.wav"] {
            synced[name] = try XCTUnwrap(waitForStatus(name, .synced))
        }
        running.stop(grace: 5)
        uploader = nil
        let putsBefore = allPutCalls.count

        // While unmounted: one file grows, one is rewritten with the same size and another
        // time, one is deleted, and a new one appears.
        try writeFile("grown.wav", TestAudio.bytes(250, seed: 1))
        try writeFile("touched.wav", TestAudio.bytes(100, seed: 7))
        try setModificationTime("touched.wav", secondsSinceEpoch: 1_500_000_000)
        XCTAssertEqual(unlink(url("gone.wav").path), 0)
        try writeFile("new.wav", TestAudio.bytes(40))

        let result = Scanner(engine: engine, logger: logger).run()
        XCTAssertEqual(result, Scanner.Result(queued: 3, removed: 1, seen: 4))

        XCTAssertNil(try storedRecord("gone.wav"))
        XCTAssertEqual(try status("gone.wav"), "local")

        let same = try XCTUnwrap(storedRecord("same.wav"))
        XCTAssertEqual(same, synced["same.wav"], "an unchanged synced file is not touched")

        for name in ["grown.wav", "touched.wav"] {
            let record = try XCTUnwrap(storedRecord(name))
            let previous = try XCTUnwrap(synced[name])
            XCTAssertEqual(record.status, .pending, name)
            XCTAssertEqual(record.priority, 5, name)
            XCTAssertEqual(record.generation, previous.generation + 1, name)
            XCTAssertEqual(record.s3Key, previous.s3Key, "\(name) keeps its key")
        }
        XCTAssertEqual(try storedRecord("grown.wav")?.size, 250)
        XCTAssertEqual(try storedRecord("new.wav")?.priority, 5)

        startUploader()
        for name in ["grown.wav", "touched.wav", "new.wav"] { try waitForStatus(name, .synced) }
        XCTAssertEqual(allPutCalls.count, putsBefore + 3, "the unchanged file is not uploaded again")
        XCTAssertEqual(object(try XCTUnwrap(synced["grown.wav"]).s3Key)?.data, TestAudio.bytes(250, seed: 1))
        XCTAssertEqual(object(try XCTUnwrap(synced["touched.wav"]).s3Key)?.data, TestAudio.bytes(100, seed: 7))
        XCTAssertEqual(object(try XCTUnwrap(synced["gone.wav"]).s3Key)?.data, TestAudio.bytes(100, seed: 3),
                       "the scan never deletes objects")
    }

    func testScanLeavesQueuedAndOpenFilesAlone() throws {
        try record("queued.wav", TestAudio.bytes(10))
        let queued = try XCTUnwrap(storedRecord("queued.wav"))
        engine.fileIsBeingWritten(path: "open.wav")
        try writeFile("open.wav", TestAudio.bytes(10))

        let result = Scanner(engine: engine, logger: logger).run()
        XCTAssertEqual(result, Scanner.Result(queued: 0, removed: 0, seen: 2))
        XCTAssertEqual(try storedRecord("queued.wav"), queued, "an already pending file keeps its place")
        XCTAssertNil(try storedRecord("open.wav"), "a file being written is queued by its close, not by the scan")
    }

    /// A file some process still has open for writing where recsync cannot see it (a writer that
    /// outlived the last mount): `local`, not queued, until that writer is gone; then queued and
    /// uploaded with its final bytes. The test's own descriptor plays the writer.
    func testAFileStillOpenForWritingElsewhereStaysLocalUntilItsWriterIsGone() throws {
        try writeFile("held.wav", TestAudio.bytes(10, seed: 1))
        var writer = open(url("held.wav").path, O_WRONLY | O_APPEND)
        XCTAssertGreaterThanOrEqual(writer, 0)
        defer { if writer >= 0 { close(writer) } }
        startUploader()

        XCTAssertEqual(Scanner(engine: engine, logger: logger).run(), Scanner.Result(queued: 1, removed: 0, seen: 1),
                       "a later scan on a live mount leaves that question to the uploader")
        _ = try queue.remove(path: "held.wav")
        let result = Scanner(engine: engine, logger: logger, lookForUnseenWriters: true).run()
        XCTAssertEqual(result, Scanner.Result(queued: 0, removed: 0, seen: 1))
        XCTAssertEqual(try status("held.wav"), "local")
        XCTAssertNil(try storedRecord("held.wav"), "not queued while it may still change")
        let more = TestAudio.bytes(30, seed: 2)
        XCTAssertEqual(more.withUnsafeBytes { write(writer, $0.baseAddress, $0.count) }, more.count)
        try assertStays("held.wav local", for: 1.5) { (try? self.status("held.wav")) == "local" }
        XCTAssertEqual(close(writer), 0)
        writer = -1

        try waitForStatus("held.wav", .synced)
        let key = try XCTUnwrap(storedRecord("held.wav")).s3Key
        XCTAssertEqual(object(key)?.data, TestAudio.bytes(10, seed: 1) + more)
    }

    /// The same writer met by the uploader: an upload does not start, and the file is `local`.
    func testAnUploadWaitsForAWriterItCannotSee() throws {
        try writeFile("late.wav", TestAudio.bytes(10, seed: 3))
        var writer = open(url("late.wav").path, O_WRONLY | O_APPEND)
        XCTAssertGreaterThanOrEqual(writer, 0)
        defer { if writer >= 0 { close(writer) } }
        try engine.enqueue(path: "late.wav", priority: .high)
        startUploader()
        try waitUntil("late.wav local") { (try? self.status("late.wav")) == "local" }
        try assertStays("late.wav not uploaded", for: 1.5) { self.allPutCalls.isEmpty }
        XCTAssertEqual(close(writer), 0)
        writer = -1
        try waitForStatus("late.wav", .synced)
        XCTAssertEqual(allPutCalls.count, 1)
    }

    func testSecondScanFindsNothingToDo() throws {
        try writeFile("a.wav", TestAudio.bytes(10))
        let scanner = Scanner(engine: engine, logger: logger)
        XCTAssertEqual(scanner.run().queued, 1)
        let afterFirst = try queue.records(under: "")
        XCTAssertEqual(scanner.run(), Scanner.Result(queued: 0, removed: 0, seen: 1))
        XCTAssertEqual(try queue.records(under: ""), afterFirst)
    }
}
