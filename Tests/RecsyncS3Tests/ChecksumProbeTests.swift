import Foundation
import XCTest
@testable import RecsyncS3

/// The `upload_checksum = "auto"` probe's decisions, against small local servers that behave as
/// S3 with flexible checksums does, as one that takes them without checking, and as one that
/// is not there. Each answers CreateMultipartUpload, ListMultipartUploads (with one upload an
/// earlier probe left), UploadPart with an aws-chunked body, and AbortMultipartUpload. (The test suite's real servers, moto and radosgw 16, check no CRC-32C
/// trailers: ChecksumLiveTests runs the probe against them.)
final class ChecksumProbeTests: XCTestCase {
    enum Behaviour: Sendable, Equatable { case checks, ignoresChecksum, noEcho, refuses(status: String, code: String) }

    func server(_ behaviour: Behaviour) throws -> LocalHTTPServer {
        try LocalHTTPServer { connection, _ in
            guard let request = connection.readRequest() else { return }
            if request.method == "POST" {
                let xml = "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>probe-1</UploadId></InitiateMultipartUploadResult>"
                connection.respond(status: "200 OK", body: Data(xml.utf8))
                return
            }
            if request.method == "GET" {
                // ListMultipartUploads: one upload an earlier probe left behind.
                let xml = "<ListMultipartUploadsResult><Bucket>b</Bucket><IsTruncated>false</IsTruncated>"
                    + "<Upload><Key>.recsync-checksum-probe</Key><UploadId>left-0</UploadId></Upload></ListMultipartUploadsResult>"
                connection.respond(status: "200 OK", body: Data(xml.utf8))
                return
            }
            if request.method == "DELETE" {
                connection.respond(status: "204 No Content")
                return
            }
            let (data, sent) = Self.decode(request.body)
            var crc = CRC32C()
            crc.update(data)
            if case let .refuses(status, code) = behaviour, sent != crc.base64 {
                connection.respond(status: status, body: s3ErrorXML(code: code, message: "refused"))
                return
            }
            if behaviour == .checks && sent != crc.base64 {
                connection.respond(status: "400 Bad Request",
                                   body: s3ErrorXML(code: "BadDigest", message: "The CRC32C you specified did not match the calculated checksum."))
                return
            }
            var headers = [("ETag", "\"\(Crypto.hex(Crypto.md5(data)))\"")]
            if behaviour != .noEcho { headers.append(("x-amz-checksum-crc32c", sent)) }
            connection.respond(status: "200 OK", headers: headers)
        }
    }

    /// The data and the trailer's checksum of an aws-chunked body.
    static func decode(_ body: Data) -> (Data, String) {
        var data = Data()
        var index = body.startIndex
        func line() -> String {
            let end = body[index...].firstIndex(of: UInt8(ascii: "\r")) ?? body.endIndex
            defer { index = min(end + 2, body.endIndex) }
            return String(decoding: body[index..<end], as: UTF8.self)
        }
        while let length = Int(line(), radix: 16), length > 0 {
            data += body[index..<(index + length)]
            index += length + 2
        }
        let trailer = line()
        return (data, String(trailer.dropFirst("x-amz-checksum-crc32c:".count)))
    }

    func client(_ endpoint: String) throws -> CurlS3Client {
        var options = S3ClientOptions(connectTimeout: 2, stallTimeout: 5)
        options.uploadChecksum = .auto
        return CurlS3Client(endpoint: try S3Endpoint(endpoint: endpoint, region: "us-east-1", pathStyle: true, environment: [:]),
                            credentials: S3Credentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret"), options: options)
    }

    func testAServerThatChecksGetsCRC32C() throws {
        let server = try server(.checks)
        defer { server.stop() }
        let s3 = try client(server.endpoint)
        XCTAssertEqual(s3.uploadChecksum(bucket: "b", key: "take.wav"), .crc32c)
        let methods = server.requests.values.map(\.method)
        XCTAssertEqual(methods, ["GET", "DELETE", "POST", "PUT", "PUT", "DELETE"],
                       "uploads left by an earlier probe listed and aborted, then create, a right part, a wrong part, abort")
        XCTAssertTrue(server.requests.values[1].target.contains("uploadId=left-0"), server.requests.values[1].target)
        XCTAssertTrue(server.requests.values[5].target.contains("uploadId=probe-1"), server.requests.values[5].target)
        let puts = server.requests.values.filter { $0.method == "PUT" }
        XCTAssertEqual(puts.first?.headers["x-amz-content-sha256"], "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        XCTAssertEqual(puts.first?.headers["x-amz-trailer"], "x-amz-checksum-crc32c")
        XCTAssertEqual(puts.first?.headers["content-encoding"], "aws-chunked")
        XCTAssertEqual(puts.first?.headers["x-amz-decoded-content-length"], puts.first.map { String(Self.decode($0.body).0.count) })
        XCTAssertGreaterThan(puts.first.map { Self.decode($0.body).0.count } ?? 0, 8192, "two chunks, the first of 8 KiB")
        // Decided once for the client's life.
        XCTAssertEqual(s3.uploadChecksum(bucket: "b", key: "other.wav"), .crc32c)
        XCTAssertEqual(server.requests.values.count, 6)
    }

    func testAServerThatTakesAWrongChecksumGetsSHA256() throws {
        let server = try server(.ignoresChecksum)
        defer { server.stop() }
        XCTAssertEqual(try client(server.endpoint).uploadChecksum(bucket: "b", key: "take.wav"), .sha256)
        XCTAssertEqual(server.requests.values.last?.method, "DELETE", "the probe's upload is aborted")
    }

    func testAServerThatDoesNotEchoTheChecksumGetsSHA256() throws {
        let server = try server(.noEcho)
        defer { server.stop() }
        XCTAssertEqual(try client(server.endpoint).uploadChecksum(bucket: "b", key: "take.wav"), .sha256)
        XCTAssertEqual(server.requests.values.map(\.method), ["GET", "DELETE", "POST", "PUT", "DELETE"])
    }

    /// A refusal of the wrong part that is about something else than its checksum (expired
    /// credentials, a clock, a 5xx) decides nothing; another 400 means the server does not take
    /// such uploads.
    func testOnlyAChecksumMismatchProvesTheServerChecks() throws {
        let cases: [(String, String, UploadChecksum?)] = [
            ("400 Bad Request", "XAmzContentChecksumMismatch", .crc32c),
            ("400 Bad Request", "ExpiredToken", nil),
            ("403 Forbidden", "RequestTimeTooSkewed", nil),
            ("503 Service Unavailable", "SlowDown", nil),
            ("400 Bad Request", "InvalidArgument", .sha256),
        ]
        for (status, code, expected) in cases {
            let server = try server(.refuses(status: status, code: code))
            defer { server.stop() }
            let s3 = try client(server.endpoint)
            let answer = s3.uploadChecksum(bucket: "b", key: "take.wav")
            XCTAssertEqual(answer, expected ?? .sha256, code)
            XCTAssertEqual(s3.checksumProbe.withLock { $0.decided }, expected, code)
        }
    }

    /// Nobody answers: SHA-256 for now, and the question is asked again later, not at every upload.
    func testAnUnreachableServerIsAskedAgainLater() throws {
        let server = try server(.checks)
        let endpoint = server.endpoint
        server.stop()
        let s3 = try client(endpoint)
        XCTAssertEqual(s3.uploadChecksum(bucket: "b", key: "take.wav"), .sha256)
        let state = s3.checksumProbe.withLock { $0 }
        XCTAssertNil(state.decided)
        XCTAssertFalse(state.probing)
        XCTAssertNotNil(state.retryAfter)
        XCTAssertGreaterThan(state.retryAfter! - ContinuousClock.now, .seconds(30))
    }

    /// The probe's key sits in the recording's folder, apart from the recording.
    func testProbeKey() {
        XCTAssertEqual(CurlS3Client.probeKey(near: "alice/2026-12-06/take1.wav"), "alice/2026-12-06/.recsync-checksum-probe")
        XCTAssertEqual(CurlS3Client.probeKey(near: "take1.wav"), ".recsync-checksum-probe")
        XCTAssertEqual(CurlS3Client.probeKey(near: "a/"), "a/.recsync-checksum-probe")
    }

    /// The forced choices never probe.
    func testForcedChoicesSendNothing() throws {
        let server = try server(.checks)
        defer { server.stop() }
        for choice in [UploadChecksumChoice.sha256, .crc32c] {
            var options = S3ClientOptions()
            options.uploadChecksum = choice
            let s3 = CurlS3Client(endpoint: try S3Endpoint(endpoint: server.endpoint, region: "us-east-1", pathStyle: true, environment: [:]),
                                  credentials: S3Credentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret"), options: options)
            XCTAssertEqual(s3.uploadChecksum(bucket: "b", key: "take.wav").rawValue, choice.rawValue)
        }
        XCTAssertEqual(server.requests.values.count, 0)
    }
}
