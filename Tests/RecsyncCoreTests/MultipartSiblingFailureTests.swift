import Foundation
import RecsyncS3
import XCTest
@testable import RecsyncCore

/// One part of a multipart upload fails while another is on its way. A transient failure lets
/// the part under way finish and be kept (the server may store it; sent again it would be
/// waste); a failure that dooms the attempt (the server forgot the upload) cuts it off.
final class MultipartSiblingFailureTests: EngineTestCase {
    private static let partSize = 5 * 1024 * 1024

    func testAPartUnderWayFinishesAndIsKeptWhenItsSiblingFailsTransiently() throws {
        try makeEngine(workers: 2, chunkSize: Self.partSize)
        let client = SiblingFailureS3Client(inner: s3, failure: S3Error(.http(status: 503, code: "SlowDown", message: "slow down",
                                                                              requestId: nil)))
        startUploader(client: client)
        let data = TestAudio.bytes(2 * Self.partSize)
        try record("take.wav", data)
        try waitForStatus("take.wav", .synced, timeout: 15)
        XCTAssertFalse(client.firstPartWasCutOff, "part 1 was under way when part 2 failed: it finished")
        XCTAssertEqual(client.sends(of: 1), 1, "part 1, stored on the first attempt, is not sent again")
        XCTAssertEqual(client.sends(of: 2), 2, "part 2 is sent again after its failure")
        XCTAssertEqual(object(try XCTUnwrap(storedRecord("take.wav")).s3Key)?.data, data)
        XCTAssertEqual(try storedRecord("take.wav")?.attempts, 0, "an attempt that stored a part is not counted")
    }

    func testAPartUnderWayIsCutOffWhenItsSiblingsFailureDoomsTheAttempt() throws {
        try makeEngine(workers: 2, chunkSize: Self.partSize)
        let client = SiblingFailureS3Client(inner: s3, failure: S3Error(.http(status: 404, code: "NoSuchUpload",
                                                                              message: "no such upload", requestId: nil)))
        startUploader(client: client)
        let data = TestAudio.bytes(2 * Self.partSize)
        try record("take.wav", data)
        try waitUntil("part 1 was cut off") { client.firstPartWasCutOff }
        try waitForStatus("take.wav", .synced, timeout: 15)
        XCTAssertEqual(object(try XCTUnwrap(storedRecord("take.wav")).s3Key)?.data, data)
    }
}

/// UploadPart 1 holds until 2 s have passed or it is told to stop; the first UploadPart 2 waits
/// until part 1 is under way, then fails with `failure`. Later calls pass straight through.
final class SiblingFailureS3Client: ForwardingS3Client, @unchecked Sendable {
    private let failure: S3Error
    private let lock = NSLock()
    private var sent: [Int: Int] = [:]
    private var firstPartHeld = false
    private var cutOff = false

    init(inner: InMemoryS3Client, failure: S3Error) {
        self.failure = failure
        super.init(inner: inner)
    }

    var firstPartWasCutOff: Bool { lock.lock(); defer { lock.unlock() }; return cutOff }
    func sends(of part: Int) -> Int { lock.lock(); defer { lock.unlock() }; return sent[part] ?? 0 }

    override func uploadPart(bucket: String, key: String, uploadId: String, partNumber: Int, body: FileBody, offset: Int64, length: Int64,
                             progress: (@Sendable (Int64) -> Void)?, shouldCancel: (@Sendable () -> Bool)?) throws -> UploadedPart {
        lock.lock()
        sent[partNumber, default: 0] += 1
        let first = sent[partNumber] == 1
        lock.unlock()
        if first && partNumber == 1 {
            lock.lock(); firstPartHeld = true; lock.unlock()
            let until = Date().addingTimeInterval(2)
            while Date() < until {
                if shouldCancel?() == true {
                    lock.lock(); cutOff = true; lock.unlock()
                    throw S3Error(.cancelled, operation: "UploadPart 1")
                }
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
        if first && partNumber == 2 {
            let until = Date().addingTimeInterval(5)
            while Date() < until && !{ lock.lock(); defer { lock.unlock() }; return firstPartHeld }() {
                Thread.sleep(forTimeInterval: 0.01)
            }
            throw failure
        }
        return try super.uploadPart(bucket: bucket, key: key, uploadId: uploadId, partNumber: partNumber, body: body, offset: offset,
                                    length: length, progress: progress, shouldCancel: shouldCancel)
    }
}
