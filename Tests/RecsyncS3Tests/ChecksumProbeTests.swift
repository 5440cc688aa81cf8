import Foundation
import XCTest
@testable import RecsyncS3

/// The `upload_checksum = "auto"` probe's decisions, against small local servers that behave as
/// S3 with flexible checksums does, as one that takes them without checking, and as one that
/// is not there. (The test suite's real servers, moto and radosgw 16, check no CRC-32C
/// trailers: ChecksumLiveTests runs the probe against them.)
final class ChecksumProbeTests: XCTestCase {
    enum Behaviour: Sendable { case checks, ignoresChecksum, noEcho }

    /// A server that answers CreateMultipartUpload, UploadPart with a one-chunk aws-chunked body
    /// and AbortMultipartUpload.
    func server(_ behaviour: Behaviour) throws -> LocalHTTPServer {
        try LocalHTTPServer { connection, _ in
            guard let request = connection.readRequest() else { return }
            if request.method == "POST" {
                let xml = "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>probe-1</UploadId></InitiateMultipartUploadResult>"
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

    /// The data and the trailer's checksum of a one-chunk aws-chunked body.
    static func decode(_ body: Data) -> (Data, String) {
        let text = String(decoding: body, as: UTF8.self)
        let lines = text.components(separatedBy: "\r\n")
        let length = Int(lines[0], radix: 16) ?? 0
        let start = lines[0].utf8.count + 2
        let data = body.subdata(in: start..<(start + length))
        let trailer = lines.first { $0.hasPrefix("x-amz-checksum-crc32c:") } ?? ""
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
        XCTAssertEqual(methods, ["POST", "PUT", "PUT", "DELETE"], "create, a right part, a wrong part, abort")
        let puts = server.requests.values.filter { $0.method == "PUT" }
        XCTAssertEqual(puts.first?.headers["x-amz-content-sha256"], "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        XCTAssertEqual(puts.first?.headers["x-amz-trailer"], "x-amz-checksum-crc32c")
        XCTAssertEqual(puts.first?.headers["content-encoding"], "aws-chunked")
        // Decided once for the client's life.
        XCTAssertEqual(s3.uploadChecksum(bucket: "b", key: "other.wav"), .crc32c)
        XCTAssertEqual(server.requests.values.count, 4)
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
        XCTAssertEqual(server.requests.values.map(\.method), ["POST", "PUT", "DELETE"])
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
