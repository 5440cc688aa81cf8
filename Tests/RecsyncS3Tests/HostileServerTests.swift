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

/// https:// is always verified: against the system store, or the CAs of AWS_CA_BUNDLE.
final class TLSVerificationTests: XCTestCase {
    func testCertificatesAreVerifiedAgainstTheGivenBundleAndNeverSkipped() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("recsync-tls-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let cert = folder.appendingPathComponent("cert.pem").path, key = folder.appendingPathComponent("key.pem").path
        let made = Process()
        made.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        made.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                          "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
        made.standardOutput = FileHandle.nullDevice
        made.standardError = FileHandle.nullDevice
        try made.run()
        made.waitUntilExit()
        XCTAssertEqual(made.terminationStatus, 0, "openssl is needed to make a test certificate")
        let port = Int.random(in: 40_001...50_000)
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        server.arguments = ["python3", "-c", """
            import http.server, ssl, sys
            class H(http.server.BaseHTTPRequestHandler):
                def do_HEAD(self):
                    self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers()
                def log_message(self, *a): pass
            s = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H)
            c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); c.load_cert_chain(sys.argv[2], sys.argv[3])
            s.socket = c.wrap_socket(s.socket, server_side=True)
            s.serve_forever()
            """, "\(port)", cert, key]
        try server.run()
        defer { server.terminate(); server.waitUntilExit() }

        func client(caBundle: String?) throws -> CurlS3Client {
            let endpoint = try S3Endpoint(endpoint: "https://127.0.0.1:\(port)", region: "us-east-1", pathStyle: true, environment: [:])
            var options = S3ClientOptions(connectTimeout: 5, stallTimeout: 5)
            options.caBundle = caBundle
            return CurlS3Client(endpoint: endpoint, credentials: S3Credentials(accessKeyId: "AK", secretAccessKey: "SK"), options: options)
        }
        let trusted = try client(caBundle: cert)
        var answered = false
        for _ in 0..<100 where !answered {
            do {
                let info = try trusted.headObject(bucket: "bucket-1", key: "take.wav")
                XCTAssertNil(info, "the server answers 404")
                answered = true
            } catch {
                Thread.sleep(forTimeInterval: 0.1)  // not listening yet
            }
        }
        XCTAssertTrue(answered, "with the certificate's CA in AWS_CA_BUNDLE, the server is reached")
        XCTAssertThrowsError(try client(caBundle: nil).headObject(bucket: "bucket-1", key: "take.wav")) { error in
            guard case .transport(let code, _)? = (error as? S3Error)?.kind else { return XCTFail("\(error)") }
            XCTAssertEqual(code, 60, "CURLE_PEER_FAILED_VERIFICATION: a certificate nobody vouches for is refused")
        }
    }
}
