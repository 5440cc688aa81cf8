import CSysShims
import Foundation
import Logging
import RecsyncCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Serves `GET /metrics` over plain HTTP on one address (`metrics_address`), for Prometheus to
/// scrape. One request at a time on its own thread, each with a 5-second deadline and an 8 KiB
/// cap on what it may send: a scraper needs no more, and nobody can hold it up for long.
public final class MetricsServer: Sendable {
    let listener: Int32
    let render: @Sendable () -> String
    let logger: Logger
    private let stopped = Mutex(false)
    /// The address it listens on, with the port the system chose when asked for port 0.
    public let boundAddress: String

    /// Opens the listening socket; nothing is served before ``start()``.
    ///
    /// - Parameter address: `HOST:PORT`; HOST an IPv4 address, `[IPv6]` or `localhost`.
    /// - Throws: ``MetricsError`` that says what to write or why the port is not free.
    public init(address: String, logger: Logger, render: @escaping @Sendable () -> String) throws {
        let (host, port) = try MetricsAddress.parse(address)
        var storage = sockaddr_storage()
        let length: socklen_t
        let family: Int32
        if host.contains(":") {
            var address6 = sockaddr_in6()
            address6.sin6_family = sa_family_t(AF_INET6)
            address6.sin6_port = port.bigEndian
            guard inet_pton(AF_INET6, host, &address6.sin6_addr) == 1 else { throw MetricsError("\(host) is not an IPv6 address") }
            withUnsafeBytes(of: address6) { bytes in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: bytes) } }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            family = AF_INET6
        } else {
            var address4 = sockaddr_in()
            address4.sin_family = sa_family_t(AF_INET)
            address4.sin_port = port.bigEndian
            guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &address4.sin_addr) == 1 else {
                throw MetricsError("\(host) is not an IP address; use 127.0.0.1, [::1] or the address of one of this machine's interfaces")
            }
            withUnsafeBytes(of: address4) { bytes in withUnsafeMutableBytes(of: &storage) { $0.copyMemory(from: bytes) } }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            family = AF_INET
        }
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw MetricsError("cannot open a socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0, listen(fd, 16) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw MetricsError("cannot listen on \(address) for metrics: \(message); choose a free port, or another address")
        }
        var actual = sockaddr_storage()
        var actualLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &actual) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &actualLength) } }
        // sin_port and sin6_port both follow the 2-byte family.
        let actualPort = withUnsafeBytes(of: actual) { $0.load(fromByteOffset: 2, as: UInt16.self) }
        boundAddress = (host.contains(":") ? "[\(host)]" : host) + ":\(UInt16(bigEndian: actualPort))"
        listener = fd
        self.logger = logger
        self.render = render
    }

    /// Serves until ``stop()``.
    public func start() {
        Thread.detachNewThread { [self] in
            while !stopped.withLock({ $0 }) {
                let client = recsync_accept_cloexec(listener)
                if client < 0 {
                    if errno == EINTR || errno == ECONNABORTED { continue }
                    break
                }
                serve(client)
                close(client)
            }
        }
    }

    /// Stops serving and closes the socket.
    public func stop() {
        stopped.withLock { $0 = true }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    func serve(_ client: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        while request.count < 8192 {
            let count = recv(client, &buffer, buffer.count, 0)
            if count <= 0 { return }
            request += buffer[0..<count]
            let text = String(decoding: request, as: UTF8.self)
            if text.contains("\r\n\r\n") || text.contains("\n\n") { break }
        }
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self).split(separator: " ")
        let response: (status: String, body: String, type: String)
        if line.count < 2 {
            response = ("400 Bad Request", "bad request\n", "text/plain")
        } else if line[0] != "GET" && line[0] != "HEAD" {
            response = ("405 Method Not Allowed", "only GET\n", "text/plain")
        } else if line[1] == "/metrics" || line[1].hasPrefix("/metrics?") {
            response = ("200 OK", render(), "text/plain; version=0.0.4; charset=utf-8")
        } else if line[1] == "/" {
            response = ("200 OK", "recsync metrics are at /metrics\n", "text/plain")
        } else {
            response = ("404 Not Found", "not found; the metrics are at /metrics\n", "text/plain")
        }
        let body = line.first == "HEAD" ? "" : response.body
        let head = "HTTP/1.1 \(response.status)\r\nContent-Type: \(response.type)\r\nContent-Length: \(response.body.utf8.count)\r\nConnection: close\r\n\r\n"
        let bytes = Array((head + body).utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count <= 0 { return }
            sent += count
        }
    }
}

