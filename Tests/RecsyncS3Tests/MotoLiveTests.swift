import Foundation
import XCTest
@testable import RecsyncS3

/// End-to-end tests of `CurlS3Client` against a moto_server this test starts on 127.0.0.1.
///
/// moto checks signatures against a canonical request rebuilt from the decoded URL, so it
/// rejects correctly signed requests whose key has non-ASCII characters or whose query contains
/// `/` (boto3 fails there too). Tests with signing on avoid those; `testKeysNeedingEncoding`
/// covers them with moto's signature check switched off, and the AWS vectors cover the signing.
final class MotoLiveTests: XCTestCase {
    var moto: MotoServer?
    var client: CurlS3Client!
    let bucket = "recsync-live"

    override func setUpWithError() throws {
        moto = try MotoServer.startForTest()
        client = try makeClient(secret: moto!.secretAccessKey)
    }

    override func tearDown() {
        moto?.stop()
        moto = nil
    }

    func makeClient(accessKey: String? = nil, secret: String, options: S3ClientOptions = .init()) throws -> CurlS3Client {
        let endpoint = try S3Endpoint(endpoint: moto!.endpoint, region: "us-east-1", pathStyle: nil, environment: [:])
        XCTAssertTrue(endpoint.pathStyle, "IP endpoints use path-style automatically")
        return CurlS3Client(endpoint: endpoint,
                            credentials: S3Credentials(accessKeyId: accessKey ?? moto!.accessKeyId, secretAccessKey: secret),
                            options: options)
    }

    func put(_ data: Data, key: String, metadata: [String: String] = [:], client: CurlS3Client? = nil,
             progress: (@Sendable (Int64) -> Void)? = nil) throws -> PutObjectResult {
        let file = try TemporaryFile(contents: data)
        return try (client ?? self.client).putObject(bucket: bucket, key: key, body: FileBody(fd: file.fd, length: Int64(data.count)),
                                                     contentType: "audio/wav", metadata: metadata,
                                                     progress: progress, shouldCancel: nil)
    }

    func testCreatePutHeadGetListDelete() throws {
        try client.createBucket(bucket: bucket)
        try client.createBucket(bucket: bucket) // already owned: still success

        let big = Data((0..<(5 * 1024 * 1024 + 1)).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
        let files: [(key: String, data: Data)] = [
            ("sessions/empty.wav", Data()),
            ("sessions/small take #1.wav", Data("RIFF small recording".utf8)),
            ("sessions/big take.wav", big),
        ]
        let metadata = ["recorder": "zoom-h6", "title": "Überspielung – Café 日本", "take": "3"]
        let progress = Recorder<Int64>()
        for file in files {
            let result = try put(file.data, key: file.key, metadata: metadata, progress: { progress.append($0) })
            XCTAssertFalse(result.etag.isEmpty)
            XCTAssertFalse(result.etag.contains("\""), "quotes are stripped")

            let info = try XCTUnwrap(try client.headObject(bucket: bucket, key: file.key), file.key)
            XCTAssertEqual(info.size, Int64(file.data.count), file.key)
            XCTAssertEqual(info.etag, result.etag)
            XCTAssertEqual(info.contentType, "audio/wav")
            XCTAssertEqual(info.metadata, metadata, file.key)
            XCTAssertNotNil(info.lastModified)

            XCTAssertEqual(try client.getObject(bucket: bucket, key: file.key), file.data, file.key)
        }
        XCTAssertEqual(progress.values.last, Int64(big.count), "progress ends at the file size")
        XCTAssertEqual(progress.values, progress.values.sorted(), "progress never goes backwards within the big upload")

        let listed = try client.listObjects(bucket: bucket, prefix: "sessions")
        XCTAssertEqual(Set(listed.map(\.key)), Set(files.map(\.key)))
        XCTAssertEqual(listed.first { $0.key == "sessions/big take.wav" }?.size, Int64(big.count))
        XCTAssertEqual(listed.first { $0.key == "sessions/big take.wav" }?.etag,
                       try client.headObject(bucket: bucket, key: "sessions/big take.wav")?.etag)
        XCTAssertEqual(try client.listObjects(bucket: bucket, prefix: "nothing-here"), [])

        try client.deleteObject(bucket: bucket, key: "sessions/small take #1.wav")
        XCTAssertNil(try client.headObject(bucket: bucket, key: "sessions/small take #1.wav"))
        XCTAssertEqual(try client.listObjects(bucket: bucket, prefix: "").count, 2)

        XCTAssertThrowsError(try client.getObject(bucket: bucket, key: "sessions/missing.wav")) { error in
            guard case .http(404, "NoSuchKey", _, _)? = (error as? S3Error)?.kind else { return XCTFail("\(error)") }
        }
    }

    func testListingFollowsContinuationTokens() throws {
        try client.createBucket(bucket: bucket)
        let count = 41
        let empty = try TemporaryFile(contents: Data())
        let emptyBody = FileBody(fd: empty.fd, length: 0)
        let group = DispatchGroup()
        let failures = Counter()
        let client = self.client!
        let bucket = self.bucket
        for worker in 0..<4 {
            group.enter()
            Thread.detachNewThread {
                for i in stride(from: worker, to: count, by: 4) {
                    do {
                        _ = try client.putObject(bucket: bucket, key: String(format: "many/%05d", i), body: emptyBody,
                                                 contentType: "application/octet-stream", metadata: [:], progress: nil, shouldCancel: nil)
                    } catch {
                        failures.increment()
                    }
                }
                group.leave()
            }
        }
        group.wait()
        withExtendedLifetime(empty) {}
        XCTAssertEqual(failures.value, 0, "concurrent uploads from 4 threads")
        let keys = try client.listObjects(bucket: bucket, prefix: "many", pageSize: 10).map(\.key)
        XCTAssertEqual(keys, (0..<count).map { String(format: "many/%05d", $0) }, "5 pages, in key order, nothing repeated")
    }

    func testKeysNeedingEncoding() throws {
        try client.createBucket(bucket: bucket)
        try XCTUnwrap(moto).disableSignatureChecks()
        let keys = ["rec/größer take #1 (50%).wav", "rec/a+b=c&d?.wav", "rec/日本/録音 🎙.wav", "rec/~tilde_-.wav"]
        for (index, key) in keys.enumerated() {
            let data = Data("take \(index)".utf8)
            _ = try put(data, key: key)
            XCTAssertEqual(try client.getObject(bucket: bucket, key: key), data, key)
            XCTAssertEqual(try client.headObject(bucket: bucket, key: key)?.size, Int64(data.count), key)
        }
        XCTAssertEqual(try client.listObjects(bucket: bucket, prefix: "rec/").map(\.key).sorted(), keys.sorted())
        XCTAssertEqual(try client.listObjects(bucket: bucket, prefix: "rec/日本/").map(\.key), ["rec/日本/録音 🎙.wav"])
        try client.deleteObject(bucket: bucket, key: keys[0])
        XCTAssertNil(try client.headObject(bucket: bucket, key: keys[0]))
    }

    func testWrongCredentialsAreRejectedAndNotRetryable() throws {
        try client.createBucket(bucket: bucket)
        let wrongSecret = try makeClient(secret: "definitely-not-the-secret")
        XCTAssertThrowsError(try wrongSecret.listObjects(bucket: bucket, prefix: "")) { error in
            let s3 = error as? S3Error
            guard case let .http(403, code, _, _)? = s3?.kind else { return XCTFail("\(error)") }
            XCTAssertTrue(["SignatureDoesNotMatch", "InvalidAccessKeyId"].contains(code), code)
            XCTAssertEqual(s3?.retryable, false)
            XCTAssertTrue("\(error)".contains("secret key"), "\(error)")
        }
        XCTAssertThrowsError(try put(Data("x".utf8), key: "denied.wav", client: wrongSecret)) { error in
            XCTAssertEqual((error as? S3Error)?.retryable, false, "\(error)")
        }
        let unknownKey = try makeClient(accessKey: "AKIAUNKNOWNKEY000000", secret: "whatever")
        XCTAssertThrowsError(try unknownKey.headObject(bucket: bucket, key: "k")) { error in
            guard case .http(403, _, _, _)? = (error as? S3Error)?.kind else { return XCTFail("\(error)") }
            XCTAssertEqual((error as? S3Error)?.retryable, false)
        }
    }

    func testCancelStopsUploadBetweenChunks() throws {
        try client.createBucket(bucket: bucket)
        let data = Data(repeating: 0x42, count: 4 * 1024 * 1024)
        let file = try TemporaryFile(contents: data)
        let checks = Counter()
        XCTAssertThrowsError(try client.putObject(bucket: bucket, key: "cancelled.wav", body: FileBody(fd: file.fd, length: Int64(data.count)),
                                                  contentType: "audio/wav", metadata: [:], progress: nil,
                                                  shouldCancel: { checks.increment() > 2 })) { error in
            XCTAssertEqual((error as? S3Error)?.kind, .cancelled, "\(error)")
            XCTAssertEqual((error as? S3Error)?.retryable, false)
        }
        XCTAssertNil(try client.headObject(bucket: bucket, key: "cancelled.wav"), "nothing was stored")
        // The client is still usable afterwards.
        XCTAssertFalse(try put(Data("after".utf8), key: "after.wav").etag.isEmpty)
    }

    func testFileTruncatedDuringUploadFailsWithIOError() throws {
        try client.createBucket(bucket: bucket)
        let file = try TemporaryFile(contents: Data(repeating: 1, count: 100_000))
        XCTAssertThrowsError(try client.putObject(bucket: bucket, key: "short.wav", body: FileBody(fd: file.fd, length: 3_000_000),
                                                  contentType: "audio/wav", metadata: [:], progress: nil, shouldCancel: nil)) { error in
            guard case .io(0, _)? = (error as? S3Error)?.kind else { return XCTFail("\(error)") }
        }
        XCTAssertNil(try client.headObject(bucket: bucket, key: "short.wav"))
    }

    func testMissingBucketIsNotRetryable() throws {
        XCTAssertThrowsError(try put(Data("x".utf8), key: "k.wav")) { error in
            guard case .http(404, "NoSuchBucket", _, _)? = (error as? S3Error)?.kind else { return XCTFail("\(error)") }
            XCTAssertEqual((error as? S3Error)?.retryable, false)
        }
    }
}

/// No server needed: a closed port must give a retryable transport error flagged unreachable.
final class UnreachableEndpointTests: XCTestCase {
    func testConnectionRefused() throws {
        let port = freeLocalPort()
        let endpoint = try S3Endpoint(endpoint: "http://127.0.0.1:\(port)", region: "us-east-1", pathStyle: nil, environment: [:])
        let client = CurlS3Client(endpoint: endpoint, credentials: S3Credentials(accessKeyId: "AK", secretAccessKey: "SK"),
                                  options: S3ClientOptions(connectTimeout: 2))
        let file = try TemporaryFile(contents: Data("x".utf8))
        XCTAssertThrowsError(try client.putObject(bucket: "b-1", key: "k", body: FileBody(fd: file.fd, length: 1), contentType: "x",
                                                  metadata: [:], progress: nil, shouldCancel: nil)) { error in
            let s3 = error as? S3Error
            guard case .transport(7, _)? = s3?.kind else { return XCTFail("\(error)") }
            XCTAssertEqual(s3?.endpointUnreachable, true)
            XCTAssertEqual(s3?.retryable, true)
            XCTAssertTrue("\(error)".hasPrefix("PutObject b-1/k failed"), "\(error)")
        }
    }
}
