import Foundation
import XCTest
@testable import RecsyncS3

final class S3ErrorTests: XCTestCase {
    func testParsesErrorXML() throws {
        let xml = """
        <?xml version="1.0" encoding="UTF-8"?>
        <Error><Code>NoSuchKey</Code><Message>The resource you requested does not exist &amp; never did</Message>
        <Resource>/mybucket/myfoto.jpg</Resource><RequestId>4442587FB7D0A2F9</RequestId></Error>
        """
        XCTAssertEqual(S3ErrorBody.parse(Data(xml.utf8)),
                       S3ErrorBody(code: "NoSuchKey", message: "The resource you requested does not exist & never did",
                                   requestId: "4442587FB7D0A2F9"))
        XCTAssertNil(S3ErrorBody.parse(Data()))
        XCTAssertNil(S3ErrorBody.parse(Data("<html>bad gateway</html>".utf8)))
        XCTAssertNil(S3ErrorBody.parse(Data("<Error><Code>unterminated".utf8)))
    }

    func testHTTPErrorFromResponse() {
        let withBody = HTTPResponse(status: 403, headers: ["x-amz-request-id": "HDR"],
                                    body: Data("<Error><Code>SignatureDoesNotMatch</Code><Message>m</Message></Error>".utf8))
        XCTAssertEqual(CurlS3Client.httpError(withBody, operation: "op").kind,
                       .http(status: 403, code: "SignatureDoesNotMatch", message: "m", requestId: "HDR"))
        let headOnly = HTTPResponse(status: 503, headers: [:], body: Data())
        let error = CurlS3Client.httpError(headOnly, operation: "HeadObject b/k")
        XCTAssertEqual(error.kind, .http(status: 503, code: "ServiceUnavailable", message: "", requestId: nil))
        XCTAssertTrue(error.retryable)
        XCTAssertTrue(error.description.hasPrefix("HeadObject b/k failed: HTTP 503"), error.description)
    }

    func testParsesListObjectsV2Page() throws {
        let xml = """
        <ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix>r/</Prefix><KeyCount>2</KeyCount>
        <IsTruncated>true</IsTruncated><NextContinuationToken>tok/1==</NextContinuationToken>
        <Contents><Key>r/a &amp; b.wav</Key><LastModified>2013-05-24T00:00:00.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>10</Size></Contents>
        <Contents><Key>r/c.wav</Key><ETag>"def-2"</ETag><Size>0</Size><StorageClass>STANDARD</StorageClass></Contents>
        </ListBucketResult>
        """
        let page = try XCTUnwrap(ListObjectsPage.parse(Data(xml.utf8)))
        XCTAssertEqual(page.objects, [
            ObjectSummary(key: "r/a & b.wav", size: 10, etag: "abc", lastModified: Date(timeIntervalSince1970: 1_369_353_600)),
            ObjectSummary(key: "r/c.wav", size: 0, etag: "def-2", lastModified: nil),
        ])
        XCTAssertEqual(page.nextContinuationToken, "tok/1==")
    }

    func testClassificationTable() {
        let cases: [(Int, String, Bool)] = [
            (500, "InternalError", true), (503, "SlowDown", true), (502, "BadGateway", true),
            (400, "RequestTimeout", true), (408, "RequestTimeout", true), (429, "TooManyRequests", true),
            (409, "OperationAborted", true),
            (400, "BadDigest", false), (400, "InvalidArgument", false), (403, "AccessDenied", false),
            (403, "SignatureDoesNotMatch", false), (403, "InvalidAccessKeyId", false), (404, "NoSuchBucket", false),
            (409, "BucketAlreadyExists", false), (301, "PermanentRedirect", false),
        ]
        for (status, code, retryable) in cases {
            let error = S3Error(.http(status: status, code: code, message: "", requestId: nil))
            XCTAssertEqual(error.retryable, retryable, "\(status) \(code)")
            XCTAssertFalse(error.endpointUnreachable)
        }
        XCTAssertTrue(S3Error(.transport(curlCode: 28, message: "timeout")).retryable)
        XCTAssertFalse(S3Error(.transport(curlCode: 28, message: "timeout")).endpointUnreachable)
        for code: Int32 in [6, 7] {
            let error = S3Error(.transport(curlCode: code, message: "x"))
            XCTAssertTrue(error.retryable && error.endpointUnreachable, "curl \(code)")
        }
        XCTAssertTrue(S3Error(.transport(curlCode: 56, message: "reset")).retryable)
        XCTAssertFalse(S3Error(.transport(curlCode: 56, message: "reset")).endpointUnreachable)
        XCTAssertFalse(S3Error(.cancelled).retryable)
        XCTAssertFalse(S3Error(.io(errno: EIO, message: "x")).retryable)
        XCTAssertFalse(S3Error(.invalidRequest(message: "x")).retryable)
        XCTAssertTrue(S3Error(.invalidResponse(message: "x")).retryable)
    }

    func testDescriptionsSayWhatToDo() {
        XCTAssertTrue(S3Error(.http(status: 403, code: "InvalidAccessKeyId", message: "m", requestId: "R"), operation: "PutObject b/k")
            .description.contains("AWS_ACCESS_KEY_ID"))
        XCTAssertTrue(S3Error(.transport(curlCode: 7, message: "Connection refused")).description.contains("server is running"))
        XCTAssertTrue(S3Error(.http(status: 404, code: "NoSuchBucket", message: "", requestId: nil)).description.contains("Create the bucket"))
    }
}
