import Foundation
import XCTest
@testable import RecsyncS3

/// Server-side copies (a synced recording renamed in the mount), shared by the moto and
/// radosgw tests.
extension MultipartScenarios {
    func put(_ data: Data, _ key: String) throws -> PutObjectResult {
        let file = try TemporaryFile(contents: data)
        return try client.putObject(bucket: bucket, key: key, body: FileBody(fd: file.fd, length: Int64(data.count)),
                                    contentType: "audio/wav", metadata: ["original-name": "take.wav"], progress: nil, shouldCancel: nil)
    }

    /// One CopyObject: the bytes stay, the type and metadata are replaced, the ETag is the source's.
    func copyKeepsTheBytesAndReplacesTheMetadata() throws {
        let data = Self.recording(Self.mebibyte + 3)
        let source = try put(data, "copy/take.wav")
        let copied = try client.copyObject(bucket: bucket, sourceKey: "copy/take.wav", key: "copy/renamed take 1.wav",
                                           size: Int64(data.count), sourceETag: source.etag, contentType: "audio/x-wav",
                                           metadata: ["original-name": "renamed take 1.wav"],
                                           partSize: Int64(5 * Self.mebibyte), singleCopyLimit: maximumSingleCopySize)
        XCTAssertEqual(copied.etag, source.etag)
        XCTAssertEqual(try client.getObject(bucket: bucket, key: "copy/renamed take 1.wav"), data)
        let info = try XCTUnwrap(try client.headObject(bucket: bucket, key: "copy/renamed take 1.wav"))
        XCTAssertEqual(info.metadata["original-name"], "renamed take 1.wav")
        XCTAssertEqual(info.contentType, "audio/x-wav")
        XCTAssertEqual(try client.getObject(bucket: bucket, key: "copy/take.wav"), data, "the source stays")
    }

    /// A source that changed (another ETag) or is gone is refused: the caller uploads instead.
    func copyOfAChangedOrMissingSourceIsRefused() throws {
        let data = Self.recording(4096)
        _ = try put(data, "copy/changed.wav")
        XCTAssertThrowsError(try client.copyObject(bucket: bucket, sourceKey: "copy/changed.wav", key: "copy/x.wav",
                                                   size: 4096, sourceETag: "0123456789abcdef0123456789abcdef",
                                                   contentType: "audio/wav", metadata: [:], partSize: Int64(5 * Self.mebibyte),
                                                   singleCopyLimit: maximumSingleCopySize)) { error in
            XCTAssertEqual((error as? S3Error)?.isPreconditionFailed, true, "\(error)")
        }
        XCTAssertThrowsError(try client.copyObject(bucket: bucket, sourceKey: "copy/never-there.wav", key: "copy/y.wav",
                                                   size: 4096, sourceETag: "27dffb2a985f19952f91396328c376ab", contentType: "audio/wav", metadata: [:],
                                                   partSize: Int64(5 * Self.mebibyte), singleCopyLimit: maximumSingleCopySize)) { error in
            XCTAssertEqual((error as? S3Error)?.isNoSuchKey, true, "\(error)")
        }
        XCTAssertNil(try client.headObject(bucket: bucket, key: "copy/x.wav"))
    }

    /// Above the single-copy limit (5 GiB on S3; 5 MiB here) the copy is a multipart upload of
    /// UploadPartCopy ranges.
    func multipartCopyOfALargeObject() throws {
        let data = Self.recording(12 * Self.mebibyte)
        let source = try put(data, "copy/long.wav")
        let copied = try client.copyObject(bucket: bucket, sourceKey: "copy/long.wav", key: "copy/long renamed.wav",
                                           size: Int64(data.count), sourceETag: source.etag, contentType: "audio/wav",
                                           metadata: ["original-name": "long renamed.wav"],
                                           partSize: Int64(5 * Self.mebibyte), singleCopyLimit: Int64(5 * Self.mebibyte))
        XCTAssertTrue(copied.etag.hasSuffix("-3"), "three UploadPartCopy parts: \(copied.etag)")
        XCTAssertEqual(try client.getObject(bucket: bucket, key: "copy/long renamed.wav"), data)
        XCTAssertEqual(try client.headObject(bucket: bucket, key: "copy/long renamed.wav")?.metadata["original-name"], "long renamed.wav")
        XCTAssertTrue(try client.listMultipartUploads(bucket: bucket, prefix: "copy").isEmpty)
    }
}
