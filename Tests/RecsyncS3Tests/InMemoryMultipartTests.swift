import Foundation
import XCTest
import RecsyncS3

final class InMemoryMultipartTests: XCTestCase {
    let data = Data((0..<250_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ $0 >> 10) })

    func testPartsCompleteIntoOneObject() throws {
        let client = InMemoryS3Client(minimumPartSize: 100_000)
        let file = try TemporaryFile(contents: data)
        let body = FileBody(fd: file.fd, length: Int64(data.count))
        let id = try client.createMultipartUpload(bucket: "b", key: "rec/a.wav", contentType: "audio/wav", metadata: ["Take": "2"])
        XCTAssertEqual(try client.listMultipartUploads(bucket: "b", prefix: "rec/").map(\.uploadId), [id])
        let progress = Recorder<Int64>()
        var parts: [UploadedPart] = []
        for (number, range) in [(1, 0..<100_000), (2, 100_000..<200_000), (3, 200_000..<250_000)] {
            parts.append(try client.uploadPart(bucket: "b", key: "rec/a.wav", uploadId: id, partNumber: number, body: body,
                                               offset: Int64(range.lowerBound), length: Int64(range.count),
                                               progress: { progress.append($0) }, shouldCancel: nil))
        }
        XCTAssertEqual(progress.values.last, 50_000, "progress counts bytes of the part")
        XCTAssertEqual(parts.map(\.size), [100_000, 100_000, 50_000])
        XCTAssertEqual(try client.listParts(bucket: "b", key: "rec/a.wav", uploadId: id),
                       parts.map { ListedPart(partNumber: $0.partNumber, etag: $0.etag, size: $0.size) })
        XCTAssertEqual(client.object(bucket: "b", key: "rec/a.wav"), nil, "nothing visible before Complete")

        let result = try client.completeMultipartUpload(bucket: "b", key: "rec/a.wav", uploadId: id,
                                                        parts: parts.map { CompletedPart(partNumber: $0.partNumber, etag: $0.etag) })
        XCTAssertTrue(result.etag.hasSuffix("-3"), result.etag)
        XCTAssertEqual(try client.getObject(bucket: "b", key: "rec/a.wav"), data)
        let info = try XCTUnwrap(try client.headObject(bucket: "b", key: "rec/a.wav"))
        XCTAssertEqual(info.etag, result.etag)
        XCTAssertEqual(info.metadata, ["take": "2"])
        XCTAssertEqual(info.contentType, "audio/wav")
        XCTAssertEqual(try client.listMultipartUploads(bucket: "b", prefix: ""), [])
        XCTAssertThrowsError(try client.listParts(bucket: "b", key: "rec/a.wav", uploadId: id)) {
            XCTAssertEqual(($0 as? S3Error)?.isNoSuchUpload, true)
        }
        XCTAssertEqual(client.calls.filter { $0 == "UploadPart b/rec/a.wav part 2" }.count, 1, "calls name the part number")
    }

    func testCompleteChecksPartsLikeS3() throws {
        let client = InMemoryS3Client(minimumPartSize: 150_000)
        let file = try TemporaryFile(contents: data)
        let body = FileBody(fd: file.fd, length: Int64(data.count))
        let id = try client.createMultipartUpload(bucket: "b", key: "k", contentType: "x", metadata: [:])
        let one = try client.uploadPart(bucket: "b", key: "k", uploadId: id, partNumber: 1, body: body, offset: 0, length: 100_000,
                                        progress: nil, shouldCancel: nil)
        let two = try client.uploadPart(bucket: "b", key: "k", uploadId: id, partNumber: 2, body: body, offset: 100_000,
                                        length: 100_000, progress: nil, shouldCancel: nil)
        func expect(_ code: String, _ parts: [CompletedPart], line: UInt = #line) {
            XCTAssertThrowsError(try client.completeMultipartUpload(bucket: "b", key: "k", uploadId: id, parts: parts), line: line) {
                guard case .http(400, code, _, _)? = ($0 as? S3Error)?.kind else { return XCTFail("\($0)", line: line) }
                XCTAssertEqual(($0 as? S3Error)?.retryable, false, line: line)
            }
        }
        expect("InvalidPart", [CompletedPart(partNumber: 1, etag: String(repeating: "0", count: 32))])
        expect("InvalidPart", [CompletedPart(partNumber: 3, etag: one.etag)])
        expect("InvalidPartOrder", [CompletedPart(partNumber: 2, etag: two.etag), CompletedPart(partNumber: 1, etag: one.etag)])
        expect("EntityTooSmall", [CompletedPart(partNumber: 1, etag: one.etag), CompletedPart(partNumber: 2, etag: two.etag)])
        XCTAssertEqual(try client.completeMultipartUpload(bucket: "b", key: "k", uploadId: id,
                                                          parts: [CompletedPart(partNumber: 2, etag: "\"\(two.etag)\"")]).etag.suffix(2), "-1")
        XCTAssertEqual(try client.getObject(bucket: "b", key: "k"), data[100_000..<200_000])
    }

    func testAbortFailuresTruncationAndCancel() throws {
        let client = InMemoryS3Client()
        let file = try TemporaryFile(contents: data)
        let body = FileBody(fd: file.fd, length: Int64(data.count))
        let id = try client.createMultipartUpload(bucket: "b", key: "k", contentType: "x", metadata: [:])
        XCTAssertThrowsError(try client.uploadPart(bucket: "b", key: "k", uploadId: id, partNumber: 1, body: body,
                                                   offset: 200_000, length: 100_000, progress: nil, shouldCancel: nil)) {
            guard case .io? = ($0 as? S3Error)?.kind else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try client.uploadPart(bucket: "b", key: "k", uploadId: id, partNumber: 1, body: body,
                                                   offset: 0, length: 100_000, progress: nil, shouldCancel: { true })) {
            XCTAssertEqual(($0 as? S3Error)?.kind, .cancelled)
        }
        let slowDown = S3Error(.http(status: 503, code: "SlowDown", message: "", requestId: nil))
        client.failNext(1, with: slowDown)
        XCTAssertThrowsError(try client.uploadPart(bucket: "b", key: "k", uploadId: id, partNumber: 1, body: body,
                                                   offset: 0, length: 100_000, progress: nil, shouldCancel: nil)) {
            XCTAssertEqual(($0 as? S3Error)?.retryable, true)
        }
        XCTAssertEqual(try client.listParts(bucket: "b", key: "k", uploadId: id), [])
        _ = try client.uploadPart(bucket: "b", key: "k", uploadId: id, partNumber: 1, body: body, offset: 0, length: 100_000,
                                  progress: nil, shouldCancel: nil)
        XCTAssertEqual(client.calls.filter { $0 == "UploadPart b/k part 1" }.count, 4)
        try client.abortMultipartUpload(bucket: "b", key: "k", uploadId: id)
        try client.abortMultipartUpload(bucket: "b", key: "k", uploadId: id)
        for call in [{ _ = try client.listParts(bucket: "b", key: "k", uploadId: id) },
                     { _ = try client.uploadPart(bucket: "b", key: "k", uploadId: id, partNumber: 2, body: body, offset: 0,
                                                 length: 10, progress: nil, shouldCancel: nil) },
                     { _ = try client.completeMultipartUpload(bucket: "b", key: "k", uploadId: id,
                                                              parts: [CompletedPart(partNumber: 1, etag: "x")]) }] {
            XCTAssertThrowsError(try call()) { XCTAssertEqual(($0 as? S3Error)?.isNoSuchUpload, true, "\($0)") }
        }
        XCTAssertNil(client.object(bucket: "b", key: "k"))
    }

    /// Clients that predate multipart uploads keep compiling and fail cleanly.
    func testDefaultImplementationsRefuse() {
        struct OldClient: S3Client {
            func putObject(bucket: String, key: String, body: FileBody, contentType: String, metadata: [String: String],
                           progress: (@Sendable (Int64) -> Void)?, shouldCancel: (@Sendable () -> Bool)?) throws -> PutObjectResult {
                PutObjectResult(etag: "e")
            }
            func headObject(bucket: String, key: String) throws -> ObjectInfo? { nil }
            func getObject(bucket: String, key: String) throws -> Data { Data() }
            func deleteObject(bucket: String, key: String) throws {}
            func listObjects(bucket: String, prefix: String) throws -> [ObjectSummary] { [] }
            func createBucket(bucket: String) throws {}
        }
        XCTAssertThrowsError(try OldClient().createMultipartUpload(bucket: "b", key: "k", contentType: "x", metadata: [:])) {
            guard case .invalidRequest? = ($0 as? S3Error)?.kind else { return XCTFail("\($0)") }
        }
    }
}
