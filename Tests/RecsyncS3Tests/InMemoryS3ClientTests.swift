import Foundation
import XCTest
import RecsyncS3

final class InMemoryS3ClientTests: XCTestCase {
    func testRoundTripAndListing() throws {
        let client = InMemoryS3Client()
        let file = try TemporaryFile(contents: Data("hello".utf8))
        let progress = Recorder<Int64>()
        let result = try client.putObject(bucket: "b", key: "rec/a.wav", body: FileBody(fd: file.fd, length: 5),
                                          contentType: "audio/wav", metadata: ["Title": "Ünïcode"],
                                          progress: { progress.append($0) }, shouldCancel: nil)
        XCTAssertEqual(result.etag, "5d41402abc4b2a76b9719d911017c592", "MD5 of the body, like S3")
        XCTAssertEqual(progress.values.last, 5)
        let info = try XCTUnwrap(try client.headObject(bucket: "b", key: "rec/a.wav"))
        XCTAssertEqual(info.size, 5)
        XCTAssertEqual(info.metadata, ["title": "Ünïcode"])
        XCTAssertEqual(try client.getObject(bucket: "b", key: "rec/a.wav"), Data("hello".utf8))
        XCTAssertEqual(try client.listObjects(bucket: "b", prefix: "rec/").map(\.key), ["rec/a.wav"])
        XCTAssertEqual(try client.listObjects(bucket: "b", prefix: "other/"), [])
        try client.deleteObject(bucket: "b", key: "rec/a.wav")
        XCTAssertNil(try client.headObject(bucket: "b", key: "rec/a.wav"))
    }

    func testInjectedFailures() throws {
        let client = InMemoryS3Client()
        let slowDown = S3Error(.http(status: 503, code: "SlowDown", message: "", requestId: nil))
        client.failNext(2, with: slowDown)
        XCTAssertThrowsError(try client.headObject(bucket: "b", key: "k")) { XCTAssertEqual(($0 as? S3Error)?.kind, slowDown.kind) }
        XCTAssertThrowsError(try client.listObjects(bucket: "b", prefix: "")) { XCTAssertTrue(($0 as? S3Error)?.retryable == true) }
        XCTAssertNil(try client.headObject(bucket: "b", key: "k"))
        XCTAssertEqual(client.calls, ["HeadObject b/k", "ListObjectsV2 b/", "HeadObject b/k"])
    }

    func testCancelTruncationAndMissingBucket() throws {
        let client = InMemoryS3Client(requireBuckets: true)
        let file = try TemporaryFile(contents: Data(repeating: 7, count: 3 << 20))
        XCTAssertThrowsError(try client.putObject(bucket: "b", key: "k", body: FileBody(fd: file.fd, length: 3 << 20),
                                                  contentType: "x", metadata: [:], progress: nil, shouldCancel: nil)) {
            guard case .http(404, "NoSuchBucket", _, _)? = ($0 as? S3Error)?.kind else { return XCTFail("\($0)") }
        }
        try client.createBucket(bucket: "b")
        let checks = Counter()
        XCTAssertThrowsError(try client.putObject(bucket: "b", key: "k", body: FileBody(fd: file.fd, length: 3 << 20),
                                                  contentType: "x", metadata: [:], progress: nil,
                                                  shouldCancel: { checks.increment() > 1 })) {
            XCTAssertEqual(($0 as? S3Error)?.kind, .cancelled)
        }
        XCTAssertThrowsError(try client.putObject(bucket: "b", key: "k", body: FileBody(fd: file.fd, length: (3 << 20) + 1),
                                                  contentType: "x", metadata: [:], progress: nil, shouldCancel: nil)) {
            guard case .io? = ($0 as? S3Error)?.kind else { return XCTFail("\($0)") }
        }
        XCTAssertNil(client.object(bucket: "b", key: "k"))
    }
}
