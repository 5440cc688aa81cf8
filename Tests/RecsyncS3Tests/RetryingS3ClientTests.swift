import Foundation
import XCTest
@testable import RecsyncS3

/// Requests without file data are tried again at once, twice at most, on failures that say
/// nothing about the request; requests with file data never are (the uploader's policy counts
/// them).
final class RetryingS3ClientTests: XCTestCase {
    let busy = S3Error(.http(status: 503, code: "SlowDown", message: "reduce your request rate", requestId: nil))

    func client() throws -> (InMemoryS3Client, RetryingS3Client) {
        let inner = InMemoryS3Client()
        try inner.createBucket(bucket: "b")
        return (inner, RetryingS3Client(inner, firstDelay: 0.01))
    }

    func testABusyServerIsAskedAgainTwiceAtMost() throws {
        let (inner, retrying) = try client()
        inner.failNext(2, with: busy)
        XCTAssertNil(try retrying.headObject(bucket: "b", key: "k"), "the third try answers")
        XCTAssertEqual(inner.calls.filter { $0.hasPrefix("HeadObject") }.count, 3)

        inner.failNext(3, with: busy)
        XCTAssertThrowsError(try retrying.createMultipartUpload(bucket: "b", key: "k", contentType: "x", metadata: [:]))
        XCTAssertEqual(inner.calls.filter { $0.hasPrefix("CreateMultipartUpload") }.count, 3, "then it gives up")
    }

    func testRequestsWithFileDataAreNotRetriedHere() throws {
        let (inner, retrying) = try client()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("retrying-\(UUID().uuidString)")
        try Data("abc".utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        let fd = open(url.path, O_RDONLY)
        defer { close(fd) }
        inner.failNext(1, with: busy)
        XCTAssertThrowsError(try retrying.putObject(bucket: "b", key: "k", body: FileBody(fd: fd, length: 3),
                                                    contentType: "x", metadata: [:], progress: nil, shouldCancel: nil))
        XCTAssertEqual(inner.calls.filter { $0.hasPrefix("PutObject") }.count, 1)
    }

    func testRefusalsAndUnreachableEndpointsAreNotRetried() throws {
        let (inner, retrying) = try client()
        inner.failNext(1, with: S3Error(.http(status: 403, code: "AccessDenied", message: "no", requestId: nil)))
        XCTAssertThrowsError(try retrying.headObject(bucket: "b", key: "k"))
        inner.failNext(1, with: S3Error(.transport(curlCode: 7, message: "Couldn't connect to server")))
        XCTAssertThrowsError(try retrying.headObject(bucket: "b", key: "k"))
        XCTAssertEqual(inner.calls.filter { $0.hasPrefix("HeadObject") }.count, 2, "one try each")
    }
}
