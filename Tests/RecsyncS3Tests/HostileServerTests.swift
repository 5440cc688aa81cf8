import Foundation
import XCTest
@testable import RecsyncS3

/// Answers a server (or anything on the path of an http:// endpoint) could send to hurt the
/// daemon: they are refused with an error, never trapped on and never held whole in memory.
final class HostileServerTests: XCTestCase {
    func makeClient(_ endpoint: String) throws -> CurlS3Client {
        let endpoint = try S3Endpoint(endpoint: endpoint, region: "us-east-1", pathStyle: nil, environment: [:])
        return CurlS3Client(endpoint: endpoint, credentials: S3Credentials(accessKeyId: "AK", secretAccessKey: "SK"),
                            options: S3ClientOptions(connectTimeout: 5, stallTimeout: 5, chunkSize: 64 * 1024))
    }

    func testAbsurdDatesAreIgnoredNotTrappedOn() throws {
        let server = try LocalHTTPServer { connection, _ in
            guard connection.readRequest(readBody: false) != nil else { return }
            connection.respond(status: "200 OK", headers: [("ETag", "\"abc\""),
                                                           ("Last-Modified", "Wed, 99999999999999999 Oct 99999999999 07:28:00 GMT"),
                                                           ("Date", "Fri, 31 Feb -4 99:99:99 GMT")])
        }
        defer { server.stop() }
        let info = try makeClient(server.endpoint).headObject(bucket: "bucket-1", key: "take.wav")
        XCTAssertNil(info?.lastModified, "an absurd Last-Modified is no date at all")
    }

    func testAnAnswerTooLargeForItsRequestIsCutAndRefused() throws {
        let huge = Data(repeating: UInt8(ascii: "x"), count: HTTPRequest.defaultMaximumResponseBytes + 1_000_000)
        let server = try LocalHTTPServer { connection, _ in
            guard connection.readRequest(readBody: false) != nil else { return }
            connection.respond(status: "200 OK", headers: [("Content-Type", "application/xml")], body: huge)
        }
        defer { server.stop() }
        XCTAssertThrowsError(try makeClient(server.endpoint).listObjects(bucket: "bucket-1", prefix: "")) { error in
            guard case .invalidResponse(let message)? = (error as? S3Error)?.kind else { return XCTFail("\(error)") }
            XCTAssertTrue(message.contains("larger than"), message)
        }
    }

    func testARangedReadAnsweredWithTheWholeObjectIsRefusedWithoutHoldingIt() throws {
        let whole = Data(repeating: 7, count: 4_000_000)
        let server = try LocalHTTPServer { connection, _ in
            guard connection.readRequest(readBody: false) != nil else { return }
            connection.respond(status: "200 OK", body: whole)  // ignores the Range header
        }
        defer { server.stop() }
        XCTAssertThrowsError(try makeClient(server.endpoint).getObjectRange(bucket: "bucket-1", key: "take.wav", offset: 1_000_000, length: 1_000)) { error in
            guard case .invalidResponse? = (error as? S3Error)?.kind else { return XCTFail("\(error)") }
        }
    }
}
