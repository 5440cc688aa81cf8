import Foundation
import XCTest
@testable import RecsyncStore

final class QueueKeyTests: QueueTestCase {
    func testNumberedKeyGoesBeforeTheLastExtension() {
        XCTAssertEqual(KeyNaming.numbered("take1.wav", 2), "take1-2.wav")
        XCTAssertEqual(KeyNaming.numbered("README", 2), "README-2")
        XCTAssertEqual(KeyNaming.numbered("a.tar.gz", 3), "a.tar-3.gz")
        XCTAssertEqual(KeyNaming.numbered("rec/2024/take1.wav", 12), "rec/2024/take1-12.wav")
        XCTAssertEqual(KeyNaming.numbered("rec/v1.2/take", 2), "rec/v1.2/take-2")
        XCTAssertEqual(KeyNaming.numbered("rec/.hidden", 2), "rec/.hidden-2")
    }

    func testKeyNumbersAreReadBackOnlyFromKeysNumberedThatWay() {
        XCTAssertEqual(KeyNaming.number(of: "rec/take1-2.wav", stem: "rec/take1", suffix: ".wav"), 2)
        XCTAssertEqual(KeyNaming.number(of: "rec/take1-117.wav", stem: "rec/take1", suffix: ".wav"), 117)
        XCTAssertEqual(KeyNaming.number(of: "README-3", stem: "README", suffix: ""), 3)
        for other in ["rec/take1-.wav", "rec/take1-02.wav", "rec/take1-1.wav", "rec/take1-2b.wav", "rec/take1-2.flac",
                      "rec/take1-x-2.wav", "rec/take1.wav", "rec/take1-99999999999999999999.wav"] {
            XCTAssertNil(KeyNaming.number(of: other, stem: "rec/take1", suffix: ".wav"), other)
        }
        XCTAssertTrue(KeyNaming.parts("a.tar.gz") == ("a.tar", ".gz"))
        XCTAssertTrue(KeyNaming.parts("v1.2/take") == ("v1.2/take", ""))
    }

    /// A hundred files of one name: each gets the next number, the gaps left by removed records
    /// are filled first, keys that merely look numbered are left alone, and retired keys stay
    /// taken.
    func testManyFilesOfOneNameTakeTheFirstFreeNumbers() throws {
        let queue = try openQueue()
        for index in 1...100 {
            let key = try queue.add("s\(index)/ZOOM0001.WAV", key: "rec/ZOOM0001.WAV").s3Key
            XCTAssertEqual(key, index == 1 ? "rec/ZOOM0001.WAV" : "rec/ZOOM0001-\(index).WAV")
        }
        _ = try queue.remove(path: "s7/ZOOM0001.WAV")
        _ = try queue.remove(path: "s40/ZOOM0001.WAV")
        try queue.add("x/ZOOM0001-x.WAV", key: "rec/ZOOM0001-x.WAV")
        XCTAssertEqual(try queue.add("t1/ZOOM0001.WAV", key: "rec/ZOOM0001.WAV").s3Key, "rec/ZOOM0001-7.WAV")
        XCTAssertEqual(try queue.add("t2/ZOOM0001.WAV", key: "rec/ZOOM0001.WAV").s3Key, "rec/ZOOM0001-40.WAV")
        XCTAssertEqual(try queue.add("t3/ZOOM0001.WAV", key: "rec/ZOOM0001.WAV").s3Key, "rec/ZOOM0001-101.WAV")
        try queue.upload("t3/ZOOM0001.WAV")
        _ = try queue.remove(path: "t3/ZOOM0001.WAV")
        // A file whose own name looks numbered takes that number; other spellings do not.
        try queue.add("y/ZOOM0001-102.WAV", key: "rec/ZOOM0001-102.WAV")
        try queue.add("y/ZOOM0001-103.wav", key: "rec/ZOOM0001-103.wav")
        try queue.add("y/ZOOM0001-0104.WAV", key: "rec/ZOOM0001-0104.WAV")
        XCTAssertEqual(try queue.add("t4/ZOOM0001.WAV", key: "rec/ZOOM0001.WAV").s3Key, "rec/ZOOM0001-103.WAV",
                       "101 is retired (uploaded, then deleted), 102 is another file's own name")
        // Names beyond ASCII are compared byte for byte.
        XCTAssertEqual(try queue.add("n1/café.wav", key: "rec/café.wav").s3Key, "rec/café.wav")
        XCTAssertEqual(try queue.add("n2/café.wav", key: "rec/café.wav").s3Key, "rec/café-2.wav")
        XCTAssertEqual(try queue.add("n3/cafe\u{301}.wav", key: "rec/cafe\u{301}.wav").s3Key, "rec/cafe\u{301}.wav",
                       "NFD is another name than NFC")
    }

    func testFirstFileKeepsTheKeyLaterOnesGetTheFirstFreeNumber() throws {
        let queue = try openQueue()
        XCTAssertEqual(try queue.add("a/take1.wav", key: "rec/take1.wav").s3Key, "rec/take1.wav")
        XCTAssertEqual(try queue.add("b/take1.wav", key: "rec/take1.wav").s3Key, "rec/take1-2.wav")
        XCTAssertEqual(try queue.add("c/take1.wav", key: "rec/take1.wav").s3Key, "rec/take1-3.wav")
        XCTAssertEqual(try queue.add("x/README", key: "rec/README").s3Key, "rec/README")
        XCTAssertEqual(try queue.add("y/README", key: "rec/README").s3Key, "rec/README-2")
        XCTAssertEqual(try queue.add("x/a.tar.gz", key: "rec/a.tar.gz").s3Key, "rec/a.tar.gz")
        XCTAssertEqual(try queue.add("y/a.tar.gz", key: "rec/a.tar.gz").s3Key, "rec/a.tar-2.gz")

        // Re-enqueueing keeps the key the file already has.
        XCTAssertEqual(try queue.add("b/take1.wav", key: "rec/take1.wav").s3Key, "rec/take1-2.wav")

        // A key of a never-uploaded record is released on removal: the first free number is reused.
        XCTAssertEqual(try queue.remove(path: "b/take1.wav").first?.s3Key, "rec/take1-2.wav")
        XCTAssertEqual(try queue.add("d/take1.wav", key: "rec/take1.wav").s3Key, "rec/take1-2.wav")
    }

    func testUploadedKeysAreRetiredOnRemove() throws {
        let queue = try openQueue()
        try queue.add("take1.wav", key: "rec/take1.wav")
        try queue.upload("take1.wav")
        _ = try queue.remove(path: "take1.wav")
        // The object of the deleted recording stays in the bucket, and nobody overwrites it.
        XCTAssertEqual(try queue.add("take1.wav", key: "rec/take1.wav").s3Key, "rec/take1-2.wav")
        XCTAssertEqual(try queue.add("other/take1.wav", key: "rec/take1.wav").s3Key, "rec/take1-3.wav")
        let retired = try queue.withDatabase { db in
            try db.query("SELECT s3_key, path, etag FROM retired_keys", operation: "test") {
                [$0.text(0), $0.text(1), $0.optionalText(2) ?? "nil"]
            }
        }
        XCTAssertEqual(retired, [["rec/take1.wav", "take1.wav", "\"etag\""]])
    }

    func testNewKeyRetiresAnUploadedKeyAndReleasesAnUnuploadedOne() throws {
        let queue = try openQueue()
        try queue.add("take.wav", key: "rec/take.wav")
        try queue.upload("take.wav")
        let renamed = try queue.add("take.wav", key: "rec/take.wav", newKey: true)
        XCTAssertEqual(renamed.s3Key, "rec/take-2.wav", "the old key holds an object and is retired")
        XCTAssertEqual(try queue.add("other.wav", key: "rec/take.wav").s3Key, "rec/take-3.wav")

        try queue.add("draft.wav", key: "rec/draft.wav")
        let rekeyed = try queue.add("draft.wav", key: "rec/2025/draft.wav", newKey: true)
        XCTAssertEqual(rekeyed.s3Key, "rec/2025/draft.wav")
        XCTAssertEqual(try queue.add("second.wav", key: "rec/draft.wav").s3Key, "rec/draft.wav",
                       "a key that never held an object is free again")
        XCTAssertEqual(try queue.add("draft.wav", key: "rec/2025/draft.wav", newKey: true).s3Key, "rec/2025/draft.wav",
                       "asking again for the key the record holds keeps it")
    }

    func testRenameWhileSyncingRetiresTheOldKey() throws {
        let queue = try openQueue()
        try queue.add("take.wav", key: "rec/take.wav")
        XCTAssertEqual(try queue.claim(limit: 1).first?.path, "take.wav")
        // Renamed while its upload is in flight: that upload may still create rec/take.wav.
        _ = try queue.rename(from: "take.wav", to: "other.wav")
        let rekeyed = try queue.enqueue(path: "other.wav", priority: .high, size: 1, mtimeNs: 1, createdAt: Date(),
                                        candidateKey: "rec/other.wav", newKey: true)
        XCTAssertEqual(rekeyed.s3Key, "rec/other.wav")
        XCTAssertEqual(try queue.add("take.wav", key: "rec/take.wav").s3Key, "rec/take-2.wav",
                       "a new file must not get the key an in-flight upload may still write")
    }

    /// A batch queues each file as one enqueue would, keys numbered against each other and the
    /// files already queued; a bad item stores nothing of the batch.
    func testABatchQueuesEachFileAsOneEnqueueWould() throws {
        let queue = try openQueue()
        try queue.add("a/take1.wav", key: "rec/take1.wav")
        try queue.upload("a/take1.wav")
        let created = Date(timeIntervalSince1970: 1_800_000_000)
        func request(_ path: String, _ key: String, size: Int64 = 10, known: Int64? = nil) -> SyncQueue.EnqueueRequest {
            SyncQueue.EnqueueRequest(path: path, priority: .normal, size: size, mtimeNs: 7, createdAt: created, candidateKey: key,
                                     knownGeneration: known)
        }
        let synced = try XCTUnwrap(try queue.record(path: "a/take1.wav"))
        try queue.add("z.wav", key: "rec/z.wav")  // queued by a close after the scan looked (it saw no record)
        let records = try queue.enqueue([request("b/take1.wav", "rec/take1.wav"), request("c/take1.wav", "rec/take1.wav"),
                                         request("a/take1.wav", "rec/take1.wav", size: 99, known: synced.generation),
                                         request("z.wav", "rec/z.wav", size: 5), request("d.wav", "rec/d.wav")])
        XCTAssertEqual(records.map(\.record.path), ["b/take1.wav", "c/take1.wav", "a/take1.wav", "d.wav"])
        XCTAssertEqual(records.map(\.record.s3Key), ["rec/take1-2.wav", "rec/take1-3.wav", "rec/take1.wav", "rec/d.wav"])
        XCTAssertTrue(records.allSatisfy { $0.record.status == .pending })
        XCTAssertEqual(records.map(\.previous), [nil, nil, .synced, nil], "each with the status it had")
        XCTAssertEqual(try queue.record(path: "a/take1.wav")?.size, 99, "a synced file is queued again with its new size")
        XCTAssertEqual(try queue.record(path: "a/take1.wav")?.generation, synced.generation + 1)
        XCTAssertEqual(try queue.record(path: "z.wav")?.size, 100, "left as the close queued it")
        XCTAssertEqual(try queue.record(path: "z.wav")?.generation, 1)

        // Checked before anything is written.
        XCTAssertThrowsError(try queue.enqueue([request("e.wav", "rec/e.wav"), request("/abs.wav", "rec/abs.wav")]))
        XCTAssertNil(try queue.record(path: "e.wav"), "nothing of a refused batch is stored")
        XCTAssertTrue(try queue.enqueue([]).isEmpty)
    }
}
