import Foundation
import Synchronization
import XCTest
@testable import RecsyncS3

/// A server on 127.0.0.1 that accepts any number of connections at once, reads each request
/// with its body and answers 200 with an ETag: it takes bytes as fast as the client sends.
final class SinkServer: Sendable {
    let port: Int
    private let listenFD: Int32
    private let stopping = Atomic<Bool>(false)
    private let acceptDone = DispatchSemaphore(value: 0)
    /// Body bytes received per request.
    let bodies = Recorder<Int>()

    var endpoint: String { "http://127.0.0.1:\(port)" }

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        // Safe: `addr` is a sockaddr_in of the size passed; the rebinding lasts only for the call.
        let bound = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard fd >= 0, bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw LocalHTTPServer.SetupError(description: "bind/listen on 127.0.0.1 failed: errno \(errno)")
        }
        // Safe: as above, `addr` and `length` describe one sockaddr_in for the call.
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        listenFD = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
        Thread.detachNewThread { [self] in
            while !stopping.load(ordering: .relaxed) {
                let connection = accept(listenFD, nil, nil)
                if connection < 0 {
                    if errno == EINTR { continue }
                    break
                }
                Thread.detachNewThread { [self] in
                    serve(connection)
                    close(connection)
                }
            }
            acceptDone.signal()
        }
    }

    /// Answers requests on one keep-alive connection until the peer closes it.
    private func serve(_ fd: Int32) {
        var buffer = [UInt8]()
        var chunk = [UInt8](repeating: 0, count: 256 * 1024)
        func fill() -> Bool {
            // Safe: `chunk` has `chunk.count` writable bytes for the duration of the call.
            let n = read(fd, &chunk, chunk.count)
            guard n > 0 else { return false }
            buffer += chunk[0..<n]
            return true
        }
        let separator = Array("\r\n\r\n".utf8)
        while true {
            var headEnd: Int?
            while headEnd == nil {
                if buffer.count >= 4, let end = (0...(buffer.count - 4)).first(where: { Array(buffer[$0..<($0 + 4)]) == separator }) {
                    headEnd = end
                } else if !fill() {
                    return
                }
            }
            let head = String(decoding: buffer[0..<headEnd!], as: UTF8.self).lowercased()
            buffer.removeFirst(headEnd! + 4)
            var length = 0
            for line in head.components(separatedBy: "\r\n") where line.hasPrefix("content-length:") {
                length = Int(line.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) ?? 0
            }
            var received = min(length, buffer.count)
            buffer.removeFirst(received)
            while received < length {
                // Safe: `chunk` has `chunk.count` writable bytes for the duration of the call.
                let n = read(fd, &chunk, min(chunk.count, length - received))
                guard n > 0 else { return }
                received += n
            }
            bodies.append(received)
            var response = Array("HTTP/1.1 200 OK\r\nETag: \"d41d8cd98f00b204e9800998ecf8427e\"\r\nContent-Length: 0\r\n\r\n".utf8)
            while !response.isEmpty {
                // Safe: `response` has `response.count` readable bytes for the duration of the call.
                let n = write(fd, &response, response.count)
                guard n > 0 else { return }
                response.removeFirst(n)
            }
        }
    }

    func stop() {
        guard !stopping.exchange(true, ordering: .relaxed) else { return }
        shutdown(listenFD, Int32(SHUT_RDWR))
        acceptDone.wait()
        close(listenFD)
    }

    deinit { stop() }
}

/// `S3ClientOptions.maxUploadRate`: one token bucket shared by every upload of a client.
final class UploadRateLimitTests: XCTestCase {
    let mebibyte = 1 << 20
    var sink: SinkServer!

    override func setUpWithError() throws { sink = try SinkServer() }

    override func tearDown() {
        sink?.stop()
        sink = nil
    }

    func makeClient(rate: Int64?) throws -> CurlS3Client {
        let endpoint = try S3Endpoint(endpoint: sink.endpoint, region: "us-east-1", pathStyle: nil, environment: [:])
        return CurlS3Client(endpoint: endpoint, credentials: S3Credentials(accessKeyId: "AK", secretAccessKey: "SK"),
                            options: S3ClientOptions(chunkSize: 64 * 1024, maxUploadRate: rate))
    }

    func put(_ client: CurlS3Client, _ file: TemporaryFile, length: Int, key: String,
             shouldCancel: (@Sendable () -> Bool)? = nil) throws -> TimeInterval {
        try Self.put(client, fd: file.fd, length: length, key: key, shouldCancel: shouldCancel)
    }

    static func put(_ client: CurlS3Client, fd: Int32, length: Int, key: String,
                    shouldCancel: (@Sendable () -> Bool)? = nil) throws -> TimeInterval {
        let start = Date()
        _ = try client.putObject(bucket: "bucket-1", key: key, body: FileBody(fd: fd, length: Int64(length)),
                                 contentType: "audio/wav", metadata: [:], progress: nil, shouldCancel: shouldCancel)
        return Date().timeIntervalSince(start)
    }

    func testOneUploadKeepsToTheLimit() throws {
        let client = try makeClient(rate: Int64(mebibyte))
        let file = try TemporaryFile(contents: Data(repeating: 0x11, count: 4 * mebibyte))
        let elapsed = try put(client, file, length: 4 * mebibyte, key: "one.wav")
        XCTAssertTrue((3.6...4.4).contains(elapsed), "4 MiB at 1 MiB/s took \(elapsed) s")
        XCTAssertEqual(sink.bodies.values.count, 1)
        XCTAssertGreaterThan(sink.bodies.values.first ?? 0, 4 * mebibyte, "the whole aws-chunked body arrived")
    }

    func testConcurrentUploadsShareTheLimit() throws {
        let client = try makeClient(rate: Int64(mebibyte))
        let file = try TemporaryFile(contents: Data(repeating: 0x22, count: 2 * mebibyte))
        let durations = Recorder<TimeInterval>()
        let failures = Recorder<String>()
        let group = DispatchGroup()
        let start = Date()
        let fd = file.fd
        let length = 2 * mebibyte
        for index in 0..<2 {
            group.enter()
            Thread.detachNewThread {
                do {
                    durations.append(try Self.put(client, fd: fd, length: length, key: "parallel-\(index).wav"))
                } catch {
                    failures.append("\(error)")
                }
                group.leave()
            }
        }
        group.wait()
        withExtendedLifetime(file) {}
        let total = Date().timeIntervalSince(start)
        XCTAssertEqual(failures.values, [])
        XCTAssertTrue((3.6...4.4).contains(total), "2 x 2 MiB at 1 MiB/s in total took \(total) s")
        for duration in durations.values {
            XCTAssertGreaterThan(duration, 3.2, "both uploads progress side by side, each at about half the rate: \(durations.values)")
        }
    }

    func testUploadPartIsLimitedToo() throws {
        let client = try makeClient(rate: Int64(mebibyte))
        let file = try TemporaryFile(contents: Data(repeating: 0x33, count: 3 * mebibyte))
        let start = Date()
        let part = try client.uploadPart(bucket: "bucket-1", key: "part.wav", uploadId: "upload-1", partNumber: 2,
                                         body: FileBody(fd: file.fd, length: Int64(3 * mebibyte)),
                                         offset: Int64(mebibyte), length: Int64(2 * mebibyte), progress: nil, shouldCancel: nil)
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertTrue((1.8...2.2).contains(elapsed), "a 2 MiB part at 1 MiB/s took \(elapsed) s")
        XCTAssertEqual(part.size, Int64(2 * mebibyte))
    }

    func testUnlimitedClientIsNotSlowedDown() throws {
        let client = try makeClient(rate: nil)
        let file = try TemporaryFile(contents: Data(repeating: 0x44, count: 4 * mebibyte))
        XCTAssertLessThan(try put(client, file, length: 4 * mebibyte, key: "fast.wav"), 2)
    }

    func testCancelWhileWaitingForTheLimit() throws {
        let client = try makeClient(rate: 16 * 1024)
        let file = try TemporaryFile(contents: Data(repeating: 0x55, count: mebibyte))
        let start = Date()
        XCTAssertThrowsError(try put(client, file, length: mebibyte, key: "cancel.wav",
                                     shouldCancel: { Date().timeIntervalSince(start) > 0.5 })) { error in
            XCTAssertEqual((error as? S3Error)?.kind, .cancelled, "\(error)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1.5, "cancellation is noticed while throttled")
    }

    func testTokenBucketArithmetic() {
        let limiter = UploadRateLimiter(bytesPerSecond: 100_000)
        XCTAssertEqual(limiter.sliceSize, 5_000)
        XCTAssertEqual(limiter.reserve(0), .zero)
        let wait = limiter.reserve(50_000)
        XCTAssertGreaterThan(wait, .milliseconds(450))
        XCTAssertLessThanOrEqual(wait, .milliseconds(501))
        XCTAssertGreaterThan(limiter.reserve(50_000), .milliseconds(950), "a second caller queues behind the first")
        XCTAssertEqual(UploadRateLimiter(bytesPerSecond: 1).bytesPerSecond, UploadRateLimiter.minimumRate)
    }

    func testTheRateChangesWhileTransfersRun() {
        let limiter = UploadRateLimiter(bytesPerSecond: nil)
        XCTAssertNil(limiter.sliceSize, "no limit: reads stay whole")
        XCTAssertTrue(limiter.waitToSend(50_000_000, sizedUnlimited: true, shouldCancel: nil), "a read sized unlimited is not charged")
        XCTAssertEqual(limiter.reserve(10_000_000), .zero)
        limiter.setRate(10_000)
        XCTAssertEqual(limiter.sliceSize, 500)
        XCTAssertGreaterThan(limiter.reserve(10_000), .milliseconds(950), "the new rate applies to the next bytes")
        limiter.setRate(1_000_000)
        // The debt owed at the old rate is forgiven: a window that opens wider starts at once.
        XCTAssertLessThanOrEqual(limiter.reserve(10_000), .milliseconds(11))
        limiter.setRate(0)
        XCTAssertNil(limiter.bytesPerSecond)
        XCTAssertEqual(limiter.reserve(50_000_000), .zero)
    }
}
