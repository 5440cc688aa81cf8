import Foundation
import XCTest

/// The fault proxy's own accounting, which the chaos scenarios judge recsync by.
final class FaultProxyTests: XCTestCase {
    /// When the server goes down, an answer still unread on a connection it resets may never
    /// reach the client (Linux drops a reset socket's unread data), so the client may send the
    /// request again: the log says which answers those were. An answer the client proved it
    /// read, by sending the next request on the connection, is not among them.
    func testAnswersOnConnectionsResetByTheServersDeathAreMarked() throws {
        // radosgw keeps connections open after an answer (moto closes them).
        let server = try TestServer.radosgw()
        let proxy = try FaultProxy(upstream: server.endpoint)
        defer { proxy.stop() }

        // Answered long before the server died: read, whatever the connection does after.
        let old = try HTTPConnection(port: proxy.port)
        defer { old.close() }
        XCTAssertGreaterThan(try old.get("/old"), 0)
        usleep(2_500_000)

        let lone = try HTTPConnection(port: proxy.port)
        defer { lone.close() }
        XCTAssertGreaterThan(try lone.get("/lone"), 0)
        let reused = try HTTPConnection(port: proxy.port)
        defer { reused.close() }
        XCTAssertGreaterThan(try reused.get("/first"), 0)
        XCTAssertGreaterThan(try reused.get("/second"), 0)

        try proxy.setServer(up: false)
        // The proxy logs a request, and marks it, once its answer is out: wait for the lines.
        let expected = ["/old": false, "/lone": true, "/first": false, "/second": true]
        var marked: [String: Bool] = [:]
        let deadline = Date().addingTimeInterval(10)
        repeat {
            marked = Dictionary(try proxy.requests().map { ($0.path, $0.resetAfterAnswer) }, uniquingKeysWith: { $0 || $1 })
            if marked == expected { break }
            usleep(50_000)
        } while Date() < deadline
        XCTAssertEqual(marked, expected, proxy.logText)
    }
}

/// One keep-alive HTTP/1.1 connection to 127.0.0.1, one request at a time.
private final class HTTPConnection {
    private let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard fd >= 0, connected == 0 else { throw TestFailure("cannot connect to the fault proxy on port \(port)") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends `GET path` and reads the whole answer; returns its status.
    func get(_ path: String) throws -> Int {
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n".utf8)
        guard send(fd, request, request.count, 0) == request.count else { throw TestFailure("send failed") }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            if let end = received.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: received[..<end.lowerBound], as: UTF8.self)
                let lines = head.components(separatedBy: "\r\n")
                let length = lines.dropFirst().first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                if received.count >= end.upperBound + length {
                    return Int(lines[0].split(separator: " ")[1]) ?? 0
                }
            }
            let got = recv(fd, &buffer, buffer.count, 0)
            guard got > 0 else { throw TestFailure("the connection closed before the whole answer came") }
            received += buffer[..<got]
        }
    }

    func close() { Glibc.close(fd) }
}
