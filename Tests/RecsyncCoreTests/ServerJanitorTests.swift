import Foundation
import RecsyncS3
import RecsyncStore
import XCTest
@testable import RecsyncCore

/// The janitor on its own: multipart uploads no file owns any more are aborted on the server,
/// mirrored deletes are carried out, and what fails stays queued for the next idle moment.
final class ServerJanitorTests: EngineTestCase {
    func janitor(_ client: (any S3Client)? = nil) -> ServerJanitor {
        ServerJanitor(engine: engine, s3: client ?? s3, logger: logger)
    }

    func testAbandonedUploadsAreAbortedAndDeletesCarriedOut() throws {
        try writeFile("a.wav", Data("a".utf8))
        try engine.enqueue(path: "a.wav", priority: .high)
        let record = try XCTUnwrap(try queue.claim(limit: 1).first)
        let uploadId = try s3.createMultipartUpload(bucket: Self.bucket, key: record.s3Key, contentType: "x", metadata: [:])
        XCTAssertTrue(try queue.beginMultipart(path: "a.wav", generation: record.generation, uploadId: uploadId, partSize: 5 << 20))
        try queue.abandonMultipart(path: "a.wav", generation: record.generation)
        let gone = Data("old".utf8)
        try writeFile("old.bin", gone)
        let fd = open(url("old.bin").path, O_RDONLY)
        _ = try s3.putObject(bucket: Self.bucket, key: "deleted/old.wav", body: FileBody(fd: fd, length: 3), contentType: "x",
                             metadata: [:], progress: nil, shouldCancel: nil)
        close(fd)
        try queue.queueDeletes(["deleted/old.wav"])

        janitor().run()
        XCTAssertEqual(try s3.listMultipartUploads(bucket: Self.bucket, prefix: "").count, 0, "the upload was aborted")
        XCTAssertEqual(try queue.abandonedUploads(), [])
        XCTAssertNil(object("deleted/old.wav"), "the mirrored delete was carried out")
        XCTAssertEqual(try queue.pendingDeletes(), [])
    }

    func testWhatFailsStaysQueuedForTheNextIdleMoment() throws {
        try queue.queueDeletes(["x/1.wav", "x/2.wav"])
        s3.failNext(1, with: S3Error(.http(status: 503, code: "SlowDown", message: "busy", requestId: nil)))
        janitor().run()
        XCTAssertEqual(try queue.pendingDeletes().count, 2, "nothing is forgotten after a failure")
        janitor().run()
        XCTAssertEqual(try queue.pendingDeletes(), [])
    }
}
