import Foundation
import XCTest
@testable import RecsyncS3

/// Uploads checked by CRC-32C trailers, and the probe that decides whether a server gets them.
/// Shared by the moto and radosgw tests; each runs on its own bucket.
struct ChecksumScenarios {
    let endpoint: S3Endpoint
    let credentials: S3Credentials
    let bucket: String

    func client(_ choice: UploadChecksumChoice) -> CurlS3Client {
        var options = S3ClientOptions(chunkSize: 64 * 1024)
        options.uploadChecksum = choice
        return CurlS3Client(endpoint: endpoint, credentials: credentials, options: options)
    }

    /// `auto` asks the server once, answers `expected`, and leaves nothing behind: no object and
    /// no open multipart upload, neither under the recording's key nor the probe's. A second
    /// question sends nothing.
    func probeDecides(_ expected: UploadChecksum) throws {
        let s3 = client(.auto)
        let key = "probe/take \(UUID().uuidString.prefix(6)).wav"
        XCTAssertEqual(s3.uploadChecksum(bucket: bucket, key: key), expected)
        for stored in [key, "probe/.recsync-checksum-probe"] {
            XCTAssertNil(try s3.headObject(bucket: bucket, key: stored), "the probe must not leave an object")
        }
        XCTAssertEqual(try s3.listMultipartUploads(bucket: bucket, prefix: "probe"), [], "the probe must abort its upload")
        XCTAssertEqual(s3.checksumProbe.withLock { $0.decided }, expected)
        // Decided: later calls use the verdict without another upload.
        XCTAssertEqual(s3.uploadChecksum(bucket: bucket, key: "probe/other.wav"), expected)
        XCTAssertEqual(try s3.listMultipartUploads(bucket: bucket, prefix: "probe"), [])
    }

    /// A forced CRC-32C PutObject stores exactly the file's bytes, reports progress up to the
    /// file's size, and its ETag is their MD5.
    func crc32cPutRoundTrip() throws {
        let s3 = client(.crc32c)
        let data = MultipartScenarios.recording(300 * 1024 + 17)
        let file = try TemporaryFile(contents: data)
        let progress = Recorder<Int64>()
        let result = try s3.putObject(bucket: bucket, key: "crc/take.wav", body: FileBody(fd: file.fd, length: Int64(data.count)),
                                      contentType: "audio/wav", metadata: ["take": "1"],
                                      progress: { progress.append($0) }, shouldCancel: nil)
        XCTAssertEqual(result.etag, Crypto.hex(Crypto.md5(data)))
        XCTAssertEqual(try s3.getObject(bucket: bucket, key: "crc/take.wav"), data)
        XCTAssertEqual(progress.values.last, Int64(data.count))
        XCTAssertTrue(progress.values.allSatisfy { (0...Int64(data.count)).contains($0) })
    }

    /// A multipart upload that declares CRC32C: each part's digest is the CRC-32C of its bytes,
    /// Complete accepts them, and the object is the file. Parts of 10 MiB go as two chunks
    /// (at most 8 MiB each).
    func crc32cMultipartRoundTrip() throws {
        let s3 = client(.crc32c)
        let data = MultipartScenarios.recording(24 * MultipartScenarios.mebibyte + 1)
        let file = try TemporaryFile(contents: data)
        let key = "crc/long take.wav"
        let uploadId = try s3.createMultipartUpload(bucket: bucket, key: key, contentType: "audio/wav", metadata: [:],
                                                    checksum: .crc32c)
        let partSize = Int64(10 * MultipartScenarios.mebibyte)
        var parts: [CompletedPart] = []
        for number in 1...3 {
            let offset = Int64(number - 1) * partSize
            let length = min(partSize, Int64(data.count) - offset)
            let part = try s3.uploadPart(bucket: bucket, key: key, uploadId: uploadId, partNumber: number,
                                         body: FileBody(fd: file.fd, length: Int64(data.count)), offset: offset,
                                         length: length, checksum: .crc32c, progress: nil, shouldCancel: nil)
            var crc = CRC32C()
            crc.update(data[Int(offset)..<Int(offset + length)])
            XCTAssertEqual(part.digest, crc.hex, "part \(number)")
            XCTAssertEqual(part.checksum, .crc32c)
            XCTAssertEqual(part.size, length)
            parts.append(CompletedPart(partNumber: number, etag: part.etag, digest: part.digest, checksum: .crc32c))
        }
        let result = try s3.completeMultipartUpload(bucket: bucket, key: key, uploadId: uploadId, parts: parts)
        XCTAssertTrue(result.etag.hasSuffix("-3"), result.etag)
        XCTAssertEqual(try s3.getObject(bucket: bucket, key: key), data)
    }

    /// A CRC-32C forced on a server that does not take trailers fails with an error that says
    /// what to set, and no object with the body's framing in it is left as the file's.
    func forcedCRC32CIsRefused() throws {
        let s3 = client(.crc32c)
        let data = MultipartScenarios.recording(100 * 1024)
        let file = try TemporaryFile(contents: data)
        XCTAssertThrowsError(try s3.putObject(bucket: bucket, key: "crc/refused.wav",
                                              body: FileBody(fd: file.fd, length: Int64(data.count)),
                                              contentType: "audio/wav", metadata: [:], condition: .noObject,
                                              progress: nil, shouldCancel: nil)) { error in
            XCTAssertTrue("\(error)".contains("set upload_checksum = \"auto\" or \"sha256\""), "\(error)")
        }
        if let stored = try? s3.getObject(bucket: bucket, key: "crc/refused.wav") {
            XCTAssertEqual(stored, data, "an object was stored with other bytes than the file's")
        }
    }
}
