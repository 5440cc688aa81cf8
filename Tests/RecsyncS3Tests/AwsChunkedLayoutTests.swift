import Foundation
import XCTest
@testable import RecsyncS3

final class AwsChunkedLayoutTests: XCTestCase {
    let signer = SigV4Signer(credentials: S3Credentials(accessKeyId: "AK", secretAccessKey: "SK"), region: "us-east-1")

    func testEncodedLengthMatchesProducedBytes() throws {
        for (length, chunk) in [(0, 8192), (1, 8192), (8192, 8192), (8193, 8192), (5 * 8192 + 17, 8192), (100_000, 65536)] {
            let file = try TemporaryFile(contents: Data((0..<length).map { UInt8(truncatingIfNeeded: $0) }))
            let layout = AwsChunkedLayout(decodedLength: Int64(length), chunkSize: chunk)
            let source = AwsChunkedBodySource(body: FileBody(fd: file.fd, length: Int64(length)), layout: layout, signer: signer,
                                              seedSignature: String(repeating: "0", count: 64), amzDate: "20240101T000000Z",
                                              scope: "20240101/us-east-1/s3/aws4_request", shouldCancel: nil)
            let body = try XCTUnwrap(readAll(source, step: 4096), "length \(length)")
            XCTAssertEqual(Int64(body.count), layout.encodedLength, "length \(length) chunk \(chunk)")
            XCTAssertTrue(body.suffix(4 + 64 + 17 + 1).starts(with: Data("0;chunk-signature=".utf8)), "ends with a final chunk")
        }
    }

    func testASmallFileGetsABufferOfItsOwnSizeNotAChunks() throws {
        for (length, expectedAtMost, expectedAtLeast) in [(0, 200, 0), (16, 200, 16), (3 << 20, (1 << 20) + 200, 1 << 20)] {
            let file = try TemporaryFile(contents: Data(count: length))
            let layout = AwsChunkedLayout(decodedLength: Int64(length), chunkSize: 1 << 20)
            let source = AwsChunkedBodySource(body: FileBody(fd: file.fd, length: Int64(length)), layout: layout, signer: signer,
                                              seedSignature: String(repeating: "0", count: 64), amzDate: "20240101T000000Z",
                                              scope: "20240101/us-east-1/s3/aws4_request", shouldCancel: nil)
            XCTAssertLessThanOrEqual(source.bufferCapacity, expectedAtMost, "\(length) bytes")
            XCTAssertGreaterThanOrEqual(source.bufferCapacity, expectedAtLeast, "\(length) bytes")
            let body = try XCTUnwrap(readAll(source, step: 65536))
            XCTAssertEqual(Int64(body.count), layout.encodedLength, "\(length) bytes: the whole body still comes out")
        }
    }

    func testEmptyBodyIsOnlyTheFinalChunk() {
        XCTAssertEqual(AwsChunkedLayout(decodedLength: 0, chunkSize: 1 << 20).encodedLength, 86)
    }

    func testDecodedProgressMapping() {
        let layout = AwsChunkedLayout(decodedLength: 66560, chunkSize: 65536)
        XCTAssertEqual(layout.decodedBytes(forEncoded: 0), 0)
        XCTAssertEqual(layout.decodedBytes(forEncoded: 88), 0, "header of the first chunk carries no data")
        XCTAssertEqual(layout.decodedBytes(forEncoded: 88 + 100), 100)
        XCTAssertEqual(layout.decodedBytes(forEncoded: 65626), 65536, "first frame complete")
        XCTAssertEqual(layout.decodedBytes(forEncoded: 65626 + 86 + 24), 65536 + 24)
        XCTAssertEqual(layout.decodedBytes(forEncoded: 66824), 66560)
    }

    func testTruncatedFileFailsWithIOError() throws {
        let file = try TemporaryFile(contents: Data(repeating: 1, count: 10_000))
        let layout = AwsChunkedLayout(decodedLength: 20_000, chunkSize: 8192)
        let source = AwsChunkedBodySource(body: FileBody(fd: file.fd, length: 20_000), layout: layout, signer: signer,
                                          seedSignature: String(repeating: "0", count: 64), amzDate: "20240101T000000Z",
                                          scope: "20240101/us-east-1/s3/aws4_request", shouldCancel: nil)
        XCTAssertNil(readAll(source, step: 65536))
        guard case .io(let code, let message)? = source.failure?.kind else {
            return XCTFail("expected an io failure, got \(String(describing: source.failure))")
        }
        XCTAssertEqual(code, 0, "a short file is a change of the file (errno 0), not an error of the system")
        XCTAssertTrue(message.contains("truncated"), message)
    }

    func testCancelBetweenChunks() throws {
        let file = try TemporaryFile(contents: Data(repeating: 1, count: 40_000))
        let calls = Counter()
        let layout = AwsChunkedLayout(decodedLength: 40_000, chunkSize: 8192)
        let source = AwsChunkedBodySource(body: FileBody(fd: file.fd, length: 40_000), layout: layout, signer: signer,
                                          seedSignature: String(repeating: "0", count: 64), amzDate: "20240101T000000Z",
                                          scope: "20240101/us-east-1/s3/aws4_request",
                                          shouldCancel: { calls.increment() > 2 })
        XCTAssertNil(readAll(source, step: 65536))
        XCTAssertEqual(source.failure, S3Error(.cancelled))
        XCTAssertEqual(calls.value, 3, "checked once per chunk")
    }
}
