import Foundation
import XCTest
@testable import RecsyncS3

/// Multipart answers real servers cannot be asked to produce, from a scripted local server.
final class MultipartResponseTests: XCTestCase {
    func makeClient(_ server: LocalHTTPServer) throws -> CurlS3Client {
        let endpoint = try S3Endpoint(endpoint: server.endpoint, region: "us-east-1", pathStyle: nil, environment: [:])
        return CurlS3Client(endpoint: endpoint, credentials: S3Credentials(accessKeyId: "AK", secretAccessKey: "SK"),
                            options: S3ClientOptions(connectTimeout: 2, stallTimeout: 5))
    }

    /// Answers every request with 200 and `body`, after the whitespace S3 sends while it works.
    func completing(with body: String) throws -> (LocalHTTPServer, Result<PutObjectResult, Error>) {
        let server = try LocalHTTPServer { connection, _ in
            guard connection.readRequest() != nil else { return }
            connection.respond(status: "200 OK", body: Data(("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + String(repeating: " \n", count: 50) + body).utf8))
        }
        defer { server.stop() }
        let client = try makeClient(server)
        let result = Result {
            try client.completeMultipartUpload(bucket: "bucket-1", key: "rec/take.wav", uploadId: "up-1",
                                               parts: [CompletedPart(partNumber: 1, etag: "\"aaa\""),
                                                       CompletedPart(partNumber: 2, etag: "bbb")])
        }
        return (server, result)
    }

    func testErrorInsideA200AnswerIsRetryableInternalError() throws {
        let (_, result) = try completing(with: "<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message><RequestId>R1</RequestId></Error>")
        XCTAssertThrowsError(try result.get()) { error in
            let s3 = error as? S3Error
            guard case .http(500, "InternalError", _, "R1")? = s3?.kind else { return XCTFail("\(error)") }
            XCTAssertEqual(s3?.retryable, true)
            XCTAssertEqual(s3?.operation, "CompleteMultipartUpload bucket-1/rec/take.wav")
        }
    }

    func testInvalidPartInsideA200AnswerIsFinal() throws {
        let (_, result) = try completing(with: "<Error><Code>InvalidPart</Code><Message>One or more of the specified parts could not be found.</Message></Error>")
        XCTAssertThrowsError(try result.get()) { error in
            guard case .http(400, "InvalidPart", _, _)? = (error as? S3Error)?.kind else { return XCTFail("\(error)") }
            XCTAssertEqual((error as? S3Error)?.retryable, false)
        }
    }

    func testNoSuchUploadInsideA200AnswerIsRecognised() throws {
        let (_, result) = try completing(with: "<Error><Code>NoSuchUpload</Code><Message>gone</Message></Error>")
        XCTAssertThrowsError(try result.get()) { XCTAssertEqual(($0 as? S3Error)?.isNoSuchUpload, true, "\($0)") }
    }

    func testResultWithoutETagIsRejected() throws {
        let (_, result) = try completing(with: "<CompleteMultipartUploadResult><Bucket>bucket-1</Bucket><Key>rec/take.wav</Key></CompleteMultipartUploadResult>")
        XCTAssertThrowsError(try result.get()) { error in
            guard case .invalidResponse? = (error as? S3Error)?.kind else { return XCTFail("\(error)") }
        }
    }

    func testEmptyETagIsConfirmedByHead() throws {
        let server = try LocalHTTPServer { connection, index in
            guard let request = connection.readRequest() else { return }
            if request.method == "HEAD" {
                connection.respond(status: "200 OK", headers: [("ETag", "\"0123456789abcdef0123456789abcdef-2\"")])
            } else {
                connection.respond(status: "200 OK", body: Data("<CompleteMultipartUploadResult><Bucket>bucket-1</Bucket><Key>k</Key><ETag></ETag></CompleteMultipartUploadResult>".utf8))
            }
        }
        defer { server.stop() }
        let result = try makeClient(server).completeMultipartUpload(bucket: "bucket-1", key: "k", uploadId: "up-1",
                                                                    parts: [CompletedPart(partNumber: 1, etag: "a"),
                                                                            CompletedPart(partNumber: 2, etag: "b")])
        XCTAssertEqual(result.etag, "0123456789abcdef0123456789abcdef-2")
        XCTAssertEqual(server.requests.values.map(\.method), ["POST", "HEAD"])
    }

    func testUnreadableAnswerIsRejected() throws {
        let (_, result) = try completing(with: "<html>proxy says hi</html>")
        XCTAssertThrowsError(try result.get()) { error in
            guard case .invalidResponse? = (error as? S3Error)?.kind else { return XCTFail("\(error)") }
            XCTAssertEqual((error as? S3Error)?.retryable, true)
        }
    }

    func testResultAfterWhitespaceSucceedsAndSendsThePartList() throws {
        let (server, result) = try completing(with: "<CompleteMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Location>x</Location><Bucket>bucket-1</Bucket><Key>rec/take.wav</Key><ETag>\"3858f62230ac3c915f300c664312c11f-2\"</ETag></CompleteMultipartUploadResult>")
        XCTAssertEqual(try result.get(), PutObjectResult(etag: "3858f62230ac3c915f300c664312c11f-2"))
        let request = try XCTUnwrap(server.requests.values.first)
        XCTAssertEqual(request.method, "POST")
        XCTAssertEqual(request.target, "/bucket-1/rec/take.wav?uploadId=up-1")
        XCTAssertEqual(request.headers["content-type"], "application/xml")
        XCTAssertEqual(request.headers["x-amz-content-sha256"], Crypto.hex(Crypto.sha256(request.body)), "the body is signed")
        XCTAssertEqual(String(decoding: request.body, as: UTF8.self),
                       "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                       + "<Part><PartNumber>1</PartNumber><ETag>\"aaa\"</ETag></Part>"
                       + "<Part><PartNumber>2</PartNumber><ETag>\"bbb\"</ETag></Part></CompleteMultipartUpload>")
    }

    func testCreateSendsAnEmptySignedPost() throws {
        let server = try LocalHTTPServer { connection, _ in
            guard connection.readRequest() != nil else { return }
            connection.respond(status: "200 OK", body: Data("<?xml version=\"1.0\" encoding=\"UTF-8\"?><InitiateMultipartUploadResult><Bucket>bucket-1</Bucket><Key>a.wav</Key><UploadId>VXBsb2FkIElE</UploadId></InitiateMultipartUploadResult>".utf8))
        }
        defer { server.stop() }
        let id = try makeClient(server).createMultipartUpload(bucket: "bucket-1", key: "a.wav", contentType: "audio/wav",
                                                              metadata: ["take": "1"])
        XCTAssertEqual(id, "VXBsb2FkIElE")
        let request = try XCTUnwrap(server.requests.values.first)
        XCTAssertEqual(request.method, "POST")
        XCTAssertEqual(request.target, "/bucket-1/a.wav?uploads=")
        XCTAssertEqual(request.headers["content-length"], "0")
        XCTAssertEqual(request.headers["content-type"], "audio/wav")
        XCTAssertEqual(request.headers["x-amz-meta-take"], "1")
    }

    func testListingsFollowTheirMarkers() throws {
        let server = try LocalHTTPServer { connection, index in
            guard connection.readRequest() != nil else { return }
            let pages = [
                "<ListMultipartUploadsResult><IsTruncated>true</IsTruncated><NextKeyMarker>a.wav</NextKeyMarker><NextUploadIdMarker>u2</NextUploadIdMarker>"
                    + "<Upload><Key>a.wav</Key><UploadId>u1</UploadId><Initiated>2024-05-01T10:00:00.000Z</Initiated></Upload>"
                    + "<Upload><Key>a.wav</Key><UploadId>u2</UploadId><Initiated>2024-05-01T10:00:01.000Z</Initiated></Upload></ListMultipartUploadsResult>",
                "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated>"
                    + "<Upload><Key>b.wav</Key><UploadId>u3</UploadId><Initiated>2024-05-01T10:00:02.000Z</Initiated></Upload></ListMultipartUploadsResult>",
                "<ListPartsResult><IsTruncated>true</IsTruncated><NextPartNumberMarker>2</NextPartNumberMarker>"
                    + "<Part><PartNumber>1</PartNumber><ETag>\"e1\"</ETag><Size>5242880</Size></Part>"
                    + "<Part><PartNumber>2</PartNumber><ETag>\"e2\"</ETag><Size>5242880</Size></Part></ListPartsResult>",
                "<ListPartsResult><IsTruncated>false</IsTruncated>"
                    + "<Part><PartNumber>4</PartNumber><ETag>\"e4\"</ETag><Size>17</Size></Part></ListPartsResult>",
            ]
            connection.respond(status: "200 OK", body: Data(pages[min(index, pages.count - 1)].utf8))
        }
        defer { server.stop() }
        let client = try makeClient(server)
        let uploads = try client.listMultipartUploads(bucket: "bucket-1", prefix: "")
        XCTAssertEqual(uploads.map(\.uploadId), ["u1", "u2", "u3"])
        XCTAssertEqual(uploads.first?.initiated, Date(timeIntervalSince1970: 1_714_557_600))
        let parts = try client.listParts(bucket: "bucket-1", key: "a.wav", uploadId: "u1")
        XCTAssertEqual(parts, [ListedPart(partNumber: 1, etag: "e1", size: 5_242_880), ListedPart(partNumber: 2, etag: "e2", size: 5_242_880),
                               ListedPart(partNumber: 4, etag: "e4", size: 17)])
        let targets = server.requests.values.map(\.target)
        XCTAssertEqual(targets, ["/bucket-1?prefix=&uploads=",
                                 "/bucket-1?key-marker=a.wav&prefix=&upload-id-marker=u2&uploads=",
                                 "/bucket-1/a.wav?uploadId=u1",
                                 "/bucket-1/a.wav?part-number-marker=2&uploadId=u1"])
    }

    func testInvalidArgumentsAreRefusedBeforeSending() throws {
        let endpoint = try S3Endpoint(endpoint: "http://127.0.0.1:9", region: "us-east-1", pathStyle: nil, environment: [:])
        let client = CurlS3Client(endpoint: endpoint, credentials: S3Credentials(accessKeyId: "AK", secretAccessKey: "SK"))
        let file = try TemporaryFile(contents: Data("x".utf8))
        for (number, offset, length) in [(0, Int64(0), Int64(1)), (10_001, 0, 1), (1, -1, 1), (1, 0, -1)] {
            XCTAssertThrowsError(try client.uploadPart(bucket: "b-1", key: "k", uploadId: "u", partNumber: number,
                                                       body: FileBody(fd: file.fd, length: 1), offset: offset, length: length,
                                                       progress: nil, shouldCancel: nil)) { error in
                guard case .invalidRequest? = (error as? S3Error)?.kind else { return XCTFail("\(error)") }
            }
        }
        XCTAssertThrowsError(try client.completeMultipartUpload(bucket: "b-1", key: "k", uploadId: "u", parts: [])) { error in
            guard case .invalidRequest? = (error as? S3Error)?.kind else { return XCTFail("\(error)") }
        }
    }
}
