import Foundation
import XCTest
@testable import RecsyncS3

/// `stallTimeout` and `connectTimeout` against local servers that misbehave on purpose.
final class TransportTimeoutTests: XCTestCase {
    let stallTimeout: TimeInterval = 2
    /// Time allowed beyond the configured timeout (curl checks about once a second; slow CI).
    let margin: TimeInterval = 3

    func makeClient(_ endpoint: String, connectTimeout: TimeInterval = 5) throws -> CurlS3Client {
        let endpoint = try S3Endpoint(endpoint: endpoint, region: "us-east-1", pathStyle: nil, environment: [:])
        return CurlS3Client(endpoint: endpoint, credentials: S3Credentials(accessKeyId: "AK", secretAccessKey: "SK"),
                            options: S3ClientOptions(connectTimeout: connectTimeout, stallTimeout: stallTimeout, chunkSize: 64 * 1024))
    }

    /// Uploads `length` bytes and returns the error and how long it took to come.
    func failingPut(_ client: CurlS3Client, length: Int) throws -> (error: S3Error, elapsed: TimeInterval) {
        let file = try TemporaryFile(contents: Data(repeating: 0x5a, count: length))
        let start = Date()
        do {
            _ = try client.putObject(bucket: "bucket-1", key: "take.wav", body: FileBody(fd: file.fd, length: Int64(length)),
                                     contentType: "audio/wav", metadata: [:], progress: nil, shouldCancel: nil)
        } catch let error as S3Error {
            return (error, Date().timeIntervalSince(start))
        }
        struct UnexpectedSuccess: Error {}
        XCTFail("the put succeeded although the server misbehaved")
        throw UnexpectedSuccess()
    }

    func assertStall(_ result: (error: S3Error, elapsed: TimeInterval), file: StaticString = #filePath, line: UInt = #line) {
        guard case let .transport(code, _) = result.error.kind else {
            return XCTFail("expected a transport error, got \(result.error)", file: file, line: line)
        }
        XCTAssertEqual(code, 28, "CURLE_OPERATION_TIMEDOUT: \(result.error)", file: file, line: line)
        XCTAssertTrue(result.error.retryable, file: file, line: line)
        XCTAssertFalse(result.error.endpointUnreachable, "the server was reached: \(result.error)", file: file, line: line)
        XCTAssertGreaterThanOrEqual(result.elapsed, stallTimeout - 0.5, file: file, line: line)
        XCTAssertLessThan(result.elapsed, stallTimeout + margin, "\(result.error)", file: file, line: line)
    }

    func testServerThatNeverAnswersStalls() throws {
        let server = try LocalHTTPServer { connection, _ in
            guard connection.readRequest() != nil else { return }
            connection.drainUntilClosed()
        }
        defer { server.stop() }
        let result = try failingPut(try makeClient(server.endpoint), length: 100_000)
        assertStall(result)
        XCTAssertEqual(server.requests.values.count, 1)
    }

    func testHeadThatIsNeverAnsweredStalls() throws {
        let server = try LocalHTTPServer { connection, _ in
            guard connection.readRequest() != nil else { return }
            connection.drainUntilClosed()
        }
        defer { server.stop() }
        let client = try makeClient(server.endpoint)
        let start = Date()
        XCTAssertThrowsError(try client.headObject(bucket: "bucket-1", key: "take.wav")) { error in
            guard let error = error as? S3Error else { return XCTFail("\(error)") }
            self.assertStall((error, Date().timeIntervalSince(start)))
        }
    }

    func testStallOnReusedConnectionIsNotUnreachable() throws {
        let server = try LocalHTTPServer { connection, _ in
            guard connection.readRequest() != nil else { return }
            connection.respond(status: "200 OK", headers: [("ETag", "\"abc\"")], keepAlive: true)
            guard connection.readRequest() != nil else { return }
            connection.drainUntilClosed()
        }
        defer { server.stop() }
        let client = try makeClient(server.endpoint)
        let file = try TemporaryFile(contents: Data("first".utf8))
        XCTAssertEqual(try client.putObject(bucket: "bucket-1", key: "first.wav", body: FileBody(fd: file.fd, length: 5),
                                            contentType: "audio/wav", metadata: [:], progress: nil, shouldCancel: nil).etag, "abc")
        assertStall(try failingPut(client, length: 1000))
        XCTAssertEqual(server.requests.values.count, 2, "both requests on the one connection")
    }

    func testServerThatStopsReadingMidBodyStalls() throws {
        // Bigger than both sockets' buffers, so the upload has to stop once the server stops reading.
        let length = 48 * 1024 * 1024
        let server = try LocalHTTPServer(receiveBuffer: 64 * 1024) { connection, _ in
            guard connection.readRequest(readBody: false) != nil else { return }
            connection.discard(atLeast: 256 * 1024)
            connection.holdWithoutReading()
        }
        defer { server.stop() }
        assertStall(try failingPut(try makeClient(server.endpoint), length: length))
    }

    func testServerThatResetsMidBodyGivesRetryableTransportError() throws {
        let server = try LocalHTTPServer { connection, _ in
            guard connection.readRequest(readBody: false) != nil else { return }
            connection.discard(atLeast: 128 * 1024)
            connection.reset()
        }
        defer { server.stop() }
        let result = try failingPut(try makeClient(server.endpoint), length: 8 * 1024 * 1024)
        guard case let .transport(code, _) = result.error.kind else { return XCTFail("\(result.error)") }
        XCTAssertTrue([52, 55, 56].contains(code), "send/receive failure: \(result.error)")
        XCTAssertTrue(result.error.retryable)
        XCTAssertFalse(result.error.endpointUnreachable, "\(result.error)")
        XCTAssertLessThan(result.elapsed, stallTimeout, "a reset is noticed at once")
    }

    func testConnectTimeoutMeansUnreachable() throws {
        // A listener that never accepts, its backlog filled by our own connections: the
        // kernel drops further SYNs, so the client's connect hangs until connectTimeout.
        let server = try LocalHTTPServer(backlog: 0, accepting: false) { _, _ in }
        defer { server.stop() }
        var fillers: [Int32] = []
        defer { fillers.forEach { close($0) } }
        for _ in 0..<4 { fillers.append(connectNonBlocking(port: server.port)) }
        usleep(200_000)

        let result = try failingPut(try makeClient(server.endpoint, connectTimeout: 1), length: 10)
        guard case let .transport(code, _) = result.error.kind else { return XCTFail("\(result.error)") }
        XCTAssertEqual(code, 7, "reported as CURLE_COULDNT_CONNECT: \(result.error)")
        XCTAssertTrue(result.error.endpointUnreachable, "\(result.error)")
        XCTAssertTrue(result.error.retryable)
        XCTAssertGreaterThanOrEqual(result.elapsed, 0.8)
        XCTAssertLessThan(result.elapsed, 1 + margin, "\(result.error)")
    }

    /// Starts a TCP connect to 127.0.0.1:`port` without waiting for it.
    func connectNonBlocking(port: Int) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        // Safe: `addr` is a sockaddr_in of the size passed; the rebinding lasts only for the call.
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return fd
    }
}
