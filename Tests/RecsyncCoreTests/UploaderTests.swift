import Foundation
import RecsyncS3
import RecsyncStore
import XCTest
@testable import RecsyncCore

/// Upload workers: failures and retries, files that change while they upload, and shutdown.
final class UploaderTests: EngineTestCase {
    // MARK: Failures

    func testRetryableServerErrorCountsAnAttemptAndRetriesAfterTheBackoff() throws {
        s3.failNext(1, with: S3Error(.http(status: 503, code: "SlowDown", message: "Please reduce your request rate.",
                                           requestId: "REQ1")))
        let data = TestAudio.bytes(3_000)
        let before = Date()
        try record("take.wav", data)
        startUploader()

        let failed = try XCTUnwrap(waitUntilFailedAttempt("take.wav"))
        let after = Date()
        XCTAssertEqual(failed.status, .pending)
        XCTAssertEqual(failed.attempts, 1)
        let error = try XCTUnwrap(failed.lastError)
        XCTAssertTrue(error.contains("SlowDown"), error)
        XCTAssertTrue(error.contains("503"), error)
        let retryAt = try XCTUnwrap(failed.nextAttemptAt)
        // The first retry comes after 1 s ± 25 %.
        XCTAssertGreaterThanOrEqual(retryAt.timeIntervalSince1970, before.timeIntervalSince1970 + 0.75 - 0.01)
        XCTAssertLessThanOrEqual(retryAt.timeIntervalSince1970, after.timeIntervalSince1970 + 1.25 + 0.01)

        // The attributes while the retry waits (about a second from now).
        XCTAssertEqual(try status("take.wav"), "pending")
        XCTAssertEqual(try attribute("take.wav", "user.sync.attempts"), "1")
        XCTAssertEqual(try attribute("take.wav", "user.sync.retry_at"), ObjectMetadata.formatTimestamp(retryAt))
        let attributeError = try XCTUnwrap(attribute("take.wav", "user.sync.error"))
        XCTAssertTrue(attributeError.contains("SlowDown"), attributeError)

        let synced = try XCTUnwrap(waitForStatus("take.wav", .synced))
        let syncedAt = try XCTUnwrap(synced.syncedAt)
        XCTAssertGreaterThanOrEqual(syncedAt.timeIntervalSince1970, retryAt.timeIntervalSince1970 - 0.01,
                                    "not retried before its retry time")
        XCTAssertEqual(object(synced.s3Key)?.data, data)
        XCTAssertEqual(putCalls(synced.s3Key), 2)
        XCTAssertEqual(try attribute("take.wav", "user.sync.error"), "")
        XCTAssertEqual(try attribute("take.wav", "user.sync.retry_at"), "")
        XCTAssertEqual(try attribute("take.wav", "user.sync.attempts"), "1", "attempts count failures since the last queueing")
    }

    func testUnreachableEndpointDoesNotCountAnAttempt() throws {
        s3.failNext(2, with: S3Error(.transport(curlCode: 7, message: "Failed to connect to s3.example: Connection refused")))
        let data = TestAudio.bytes(2_000)
        try record("take.wav", data)
        startUploader()

        let failed = try XCTUnwrap(waitUntilFailedAttempt("take.wav"))
        XCTAssertEqual(failed.status, .pending)
        XCTAssertEqual(failed.attempts, 0, "an unreachable endpoint does not spend attempts")
        XCTAssertNil(failed.nextAttemptAt, "the runner pauses instead of giving the file a retry time")
        let error = try XCTUnwrap(failed.lastError)
        XCTAssertTrue(error.contains("curl 7"), error)

        let synced = try XCTUnwrap(waitForStatus("take.wav", .synced, timeout: 15))
        XCTAssertEqual(synced.attempts, 0)
        XCTAssertEqual(putCalls(synced.s3Key), 3)
        XCTAssertEqual(object(synced.s3Key)?.data, data)
    }

    func testOtherTransportErrorCountsAnAttempt() throws {
        s3.failNext(1, with: S3Error(.transport(curlCode: 56, message: "Recv failure: Connection reset by peer")))
        try record("take.wav", TestAudio.bytes(100))
        startUploader()
        let failed = try XCTUnwrap(waitUntilFailedAttempt("take.wav"))
        XCTAssertEqual(failed.attempts, 1)
        XCTAssertTrue(failed.lastError?.contains("curl 56") == true, failed.lastError ?? "")
        try waitForStatus("take.wav", .synced)
    }

    func testRequeueingAfterAFailureResetsAttemptsAndError() throws {
        s3.failNext(1, with: S3Error(.http(status: 500, code: "InternalError", message: "We encountered an internal error.",
                                           requestId: nil)))
        try record("take.wav", TestAudio.bytes(100, seed: 1))
        startUploader()
        _ = try XCTUnwrap(waitUntilFailedAttempt("take.wav"))

        // A new close before the retry queues the file again: a fresh start, claimable now.
        let second = TestAudio.bytes(150, seed: 2)
        engine.fileIsBeingWritten(path: "take.wav")
        try writeFile("take.wav", second)
        try engine.fileWasWritten(path: "take.wav", stillOpen: false)
        let synced = try XCTUnwrap(waitForStatus("take.wav", .synced))
        XCTAssertEqual(synced.attempts, 0)
        XCTAssertNil(synced.lastError)
        XCTAssertEqual(object(synced.s3Key)?.data, second)
    }

    // MARK: Changes during an upload

    func testWriteDuringAnUploadCancelsItAndTheNewContentIsSynced() throws {
        let gate = GatedS3Client(inner: s3, stage: .beforeSending)
        let first = TestAudio.bytes(5_000, seed: 1)
        try record("take.wav", first)
        let key = try XCTUnwrap(storedRecord("take.wav")).s3Key
        startUploader(client: gate)
        waitUntil("the upload is in flight") { gate.arrivals.count == 1 }
        XCTAssertEqual(try status("take.wav"), "syncing")
        XCTAssertEqual(try attribute("take.wav", "user.sync.progress"), "0/\(first.count)")

        // The application opens the file and writes while the upload runs.
        engine.fileIsBeingWritten(path: "take.wav")
        XCTAssertEqual(try status("take.wav"), "local")
        try waitForStatus("take.wav", .pending)
        XCTAssertNil(object(key), "the cancelled upload stored nothing")
        XCTAssertEqual(try storedRecord("take.wav")?.attempts, 0, "a cancel is not a failed attempt")
        gate.open()
        try assertStays("nothing is uploaded while the file is written", for: 0.3) {
            try gate.arrivals.count == 1 && (status("take.wav")) == "local"
        }

        let second = TestAudio.bytes(7_000, seed: 2)
        try writeFile("take.wav", second)
        try engine.fileWasWritten(path: "take.wav", stillOpen: false)
        let synced = try XCTUnwrap(waitForStatus("take.wav", .synced))
        XCTAssertEqual(object(key)?.data, second)
        XCTAssertEqual(synced.syncedSize, Int64(second.count))
    }

    func testWriteWhileTheServerStoresTheOldVersionNeverEndsSyncedWithIt() throws {
        // The server has the old bytes but has not answered yet when the file starts to change.
        let gate = GatedS3Client(inner: s3, stage: .afterStoring)
        let first = TestAudio.bytes(5_000, seed: 1)
        try record("take.wav", first)
        let key = try XCTUnwrap(storedRecord("take.wav")).s3Key
        startUploader(client: gate)
        waitUntil("the old version reached the server") { gate.arrivals.count == 1 }
        XCTAssertEqual(object(key)?.data, first)

        engine.fileIsBeingWritten(path: "take.wav")
        gate.open()
        try waitForStatus("take.wav", .pending)
        try assertStays("not synced, not uploaded again while the file is written", for: 0.3) {
            (try storedRecord("take.wav")?.status) == .pending && gate.arrivals.count == 1
        }
        XCTAssertEqual(try status("take.wav"), "local")

        let second = TestAudio.bytes(5_000, seed: 2)
        try writeFile("take.wav", second)
        try engine.fileWasWritten(path: "take.wav", stillOpen: false)
        let synced = try XCTUnwrap(waitForStatus("take.wav", .synced))
        XCTAssertEqual(object(key)?.data, second)
        XCTAssertEqual(synced.etag, object(key)?.etag)
        XCTAssertEqual(gate.arrivals.count, 2)
    }

    func testFileChangedAfterItWasClaimedIsUploadedAgain() throws {
        // The file changes behind the engine's back (no hooks) after the worker claimed it and
        // the server stored the old bytes: the worker must notice and upload it again.
        let gate = GatedS3Client(inner: s3, stage: .afterStoring)
        let first = TestAudio.bytes(4_000, seed: 1)
        try record("take.wav", first)
        let claimedGeneration = try XCTUnwrap(storedRecord("take.wav")).generation
        let key = try XCTUnwrap(storedRecord("take.wav")).s3Key
        startUploader(client: gate)
        waitUntil("the old version reached the server") { gate.arrivals.count == 1 }
        XCTAssertEqual(object(key)?.data, first)

        let second = TestAudio.bytes(4_000, seed: 2)  // same size: only the content and times differ
        try writeFile("take.wav", second)
        try setModificationTime("take.wav", secondsSinceEpoch: 1_600_000_000)
        gate.open()

        let synced = try XCTUnwrap(waitForStatus("take.wav", .synced))
        XCTAssertEqual(gate.arrivals.count, 2, "uploaded a second time")
        XCTAssertEqual(object(key)?.data, second)
        XCTAssertEqual(synced.etag, object(key)?.etag)
        XCTAssertEqual(synced.generation, claimedGeneration)
        XCTAssertEqual(synced.syncedMtimeNs, 1_600_000_000 * 1_000_000_000)
    }

    func testFileGrownBeforeTheUploadReadsItIsUploadedAgainWithTheNewBytes() throws {
        // Grown after the claim but before the bytes are read: the size sent was taken at
        // the start, so the worker must not confirm that version.
        let gate = GatedS3Client(inner: s3, stage: .beforeSending)
        let first = TestAudio.bytes(3_000, seed: 1)
        try record("take.wav", first)
        let key = try XCTUnwrap(storedRecord("take.wav")).s3Key
        startUploader(client: gate)
        waitUntil("the upload is in flight") { gate.arrivals.count == 1 }

        let second = TestAudio.bytes(6_000, seed: 2)
        try writeFile("take.wav", second)
        gate.open()
        try waitUntil("the new version is synced") {
            (try storedRecord("take.wav")?.status) == .synced && object(key)?.data == second
        }
        XCTAssertEqual(try storedRecord("take.wav")?.syncedSize, Int64(second.count))
    }

    func testRemovingAFileDuringItsUploadDropsItAndRetiresTheKey() throws {
        let gate = GatedS3Client(inner: s3, stage: .afterStoring)
        try record("take.wav", TestAudio.bytes(1_000, seed: 1))
        let key = try XCTUnwrap(storedRecord("take.wav")).s3Key
        startUploader(client: gate)
        waitUntil("the upload is in flight") { gate.arrivals.count == 1 }

        XCTAssertEqual(unlink(url("take.wav").path), 0)
        try engine.itemRemoved(path: "take.wav", isDirectory: false)
        gate.open()
        try assertStays("the removed file does not come back", for: 0.3) { (try storedRecord("take.wav")) == nil }
        XCTAssertEqual(try status("take.wav"), "local")

        // The object the server stored stays, and a new file of that name does not overwrite it.
        XCTAssertEqual(object(key)?.data, TestAudio.bytes(1_000, seed: 1))
        try record("take.wav", TestAudio.bytes(10, seed: 2))
        let replacement = try XCTUnwrap(storedRecord("take.wav"))
        XCTAssertNotEqual(replacement.s3Key, key)
        try waitForStatus("take.wav", .synced)
        XCTAssertEqual(object(key)?.data, TestAudio.bytes(1_000, seed: 1))
    }

    func testFileThatVanishedBeforeItsUploadIsDropped() throws {
        try record("take.wav", TestAudio.bytes(100))
        XCTAssertEqual(unlink(url("take.wav").path), 0)
        startUploader()
        try waitUntil("the record is dropped") { (try storedRecord("take.wav")) == nil }
        XCTAssertTrue(allPutCalls.isEmpty)
    }

    // MARK: Priority

    func testHigherPriorityIsUploadedFirst() throws {
        try makeEngine(workers: 1)
        try writeFile("found.wav", TestAudio.bytes(10, seed: 1))
        try engine.enqueue(path: "found.wav", priority: .normal)
        try record("fresh.wav", TestAudio.bytes(10, seed: 2))
        startUploader()
        try waitForStatus("found.wav", .synced)
        try waitForStatus("fresh.wav", .synced)
        let order = allPutCalls.map { $0.hasSuffix("/fresh.wav") ? "fresh" : "found" }
        XCTAssertEqual(order, ["fresh", "found"])
    }

    // MARK: Stopping

    func testStopReturnsPromptlyWhenIdle() throws {
        let running = startUploader()
        usleep(100_000)  // let the workers go to sleep
        let started = Date()
        running.stop(grace: 10)
        XCTAssertLessThan(Date().timeIntervalSince(started), 1, "idle workers must not wait for the grace period")
        uploader = nil

        // Stopped workers no longer upload, and a queued file is not lost.
        try record("take.wav", TestAudio.bytes(100))
        assertStays("no upload after stop", for: 0.3) { allPutCalls.isEmpty }
        XCTAssertEqual(try storedRecord("take.wav")?.status, .pending)
    }

    func testStopCancelsAnUploadInFlightAndLeavesItPending() throws {
        let gate = GatedS3Client(inner: s3, stage: .beforeSending)
        try record("take.wav", TestAudio.bytes(2_000))
        let running = startUploader(client: gate)
        waitUntil("the upload is in flight") { gate.arrivals.count == 1 }
        XCTAssertEqual(try storedRecord("take.wav")?.status, .syncing)

        let started = Date()
        running.stop(grace: 0.2)
        let elapsed = Date().timeIntervalSince(started)
        uploader = nil
        XCTAssertGreaterThanOrEqual(elapsed, 0.15, "the upload had its grace period")
        XCTAssertLessThan(elapsed, 3, "a cancelled upload ends promptly")

        let left = try XCTUnwrap(storedRecord("take.wav"))
        XCTAssertEqual(left.status, .pending)
        XCTAssertEqual(left.attempts, 0, "a shutdown is not a failed attempt")
        XCTAssertNil(left.nextAttemptAt, "claimable at once on the next start")
        XCTAssertEqual(try status("take.wav"), "pending")
        XCTAssertNil(object(left.s3Key))

        // The next run uploads it.
        startUploader()
        try waitForStatus("take.wav", .synced)
    }

    func testStopLetsAnUploadFinishWithinTheGracePeriod() throws {
        let gate = GatedS3Client(inner: s3, stage: .beforeSending)
        try record("take.wav", TestAudio.bytes(2_000))
        let running = startUploader(client: gate)
        waitUntil("the upload is in flight") { gate.arrivals.count == 1 }
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { gate.open() }
        running.stop(grace: 5)
        uploader = nil
        XCTAssertEqual(try storedRecord("take.wav")?.status, .synced)
    }

    // MARK: Helpers

    /// Waits until the uploader recorded a failed attempt for `path` (a last error is set).
    func waitUntilFailedAttempt(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws -> FileRecord? {
        var seen: FileRecord?
        try waitUntil("a failed attempt is recorded for \(path)", file: file, line: line) {
            seen = try storedRecord(path)
            return seen?.lastError != nil
        }
        return seen
    }
}
