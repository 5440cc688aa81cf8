import CSysShims
import FoundationEssentials
import Logging
import RecsyncCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import RecsyncPrimitives

/// Serves `GET /metrics` over plain HTTP on one address (`metrics_address`), for Prometheus to
/// scrape. Each connection gets its own thread (at most 8 at once, 2 from one address; more are
/// closed at once), 1 second to send its request (at most 8 KiB), and 5 seconds for the whole
/// exchange: a scraper needs no more, and a slow client from one address cannot take the slots
/// of another. The text is made at most once a
/// second, however often it is asked for, so scraping in a loop does not load the queue.
public final class MetricsServer: Sendable {
    let listener: Int32
    let render: @Sendable () -> String
    let logger: Logger
    private let stopped = Mutex(false)
    /// Connections being served, by the peer's address.
    private let active = Mutex<[String: Int]>([:])
    private let cache = Mutex<(text: String, made: ContinuousClock.Instant)?>(nil)
    static let maxConnections = 8
    /// At most this many at once from one address, so that one client cannot take every slot.
    static let maxPerPeer = 2
    /// The request must arrive within this; the whole exchange within `deadline`.
    static let requestDeadline: Duration = .seconds(1)
    static let deadline: Duration = .seconds(5)
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
        WorkerThread.detachNewThread { [self] in
            defer { stopped.withLock { _ in close(listener) } }
            while !stopped.withLock({ $0 }) {
                let client = recsync_accept_cloexec(listener)
                if stopped.withLock({ $0 }) {
                    if client >= 0 { close(client) }
                    return
                }
                if client < 0 {
                    let code = errno
                    if code == EINTR || code == ECONNABORTED { continue }
                    // Out of descriptors or memory: wait and try again rather than stop serving.
                    logger.warning("metrics endpoint cannot accept a connection", metadata: ["error": "\(String(cString: strerror(code)))"])
                    WorkerThread.sleep(forTimeInterval: 1)
                    continue
                }
                let peer = Self.peerAddress(client)
                let admitted = active.withLock { active in
                    guard active.values.reduce(0, +) < Self.maxConnections, active[peer, default: 0] < Self.maxPerPeer else { return false }
                    active[peer, default: 0] += 1
                    return true
                }
                guard admitted else {
                    close(client)
                    continue
                }
                let started = WorkerThread.detachNewThread { [self] in
                    serve(client)
                    release(client, of: peer)
                }
                if !started { release(client, of: peer) }
            }
        }
    }

    /// Frees the connection's slot, then closes it: the slot is free before the peer sees the
    /// close, so a scraper that connects again at once is never refused for its own last
    /// connection.
    private func release(_ client: Int32, of peer: String) {
        active.withLock { active in
            active[peer, default: 1] -= 1
            if active[peer] == 0 { active[peer] = nil }
        }
        close(client)
    }

    /// Stops serving. The flag and the shutdown go together under the lock the accepting thread
    /// takes before it closes the socket, so the shutdown never reaches a descriptor number
    /// that was closed and given to something else.
    public func stop() {
        stopped.withLock { stopped in
            stopped = true
            shutdown(listener, Int32(SHUT_RDWR))
        }
    }

    /// The peer's IP address as text ("" when it cannot be read).
    static func peerAddress(_ fd: Int32) -> String {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let got = withUnsafeMutablePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) } }
        guard got == 0 else { return "" }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let family = Int32(storage.ss_family)
        let converted: UnsafePointer<CChar>? = withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: UInt8.self, capacity: MemoryLayout<sockaddr_storage>.size) { bytes in
                // sin_addr follows the family and port (offset 4); sin6_addr the flow info too (offset 8).
                inet_ntop(family, bytes + (family == AF_INET6 ? 8 : 4), &text, socklen_t(text.count))
            }
        }
        return converted == nil ? "" : String(cString: text)
    }

    /// The exposition text, made again only when the last is older than a second.
    func text() -> String {
        let now = ContinuousClock.now
        if let cached = cache.withLock({ $0 }), now - cached.made < .seconds(1) { return cached.text }
        let text = render()
        cache.withLock { $0 = (text, now) }
        return text
    }

    func serve(_ client: Int32) {
        let deadline = ContinuousClock.now + Self.deadline
        /// Waits until `client` is ready for `events`, or false at `limit`.
        func ready(_ events: Int32, by limit: ContinuousClock.Instant) -> Bool {
            while true {
                let left = limit - ContinuousClock.now
                if left <= .zero { return false }
                var poller = pollfd(fd: client, events: Int16(events), revents: 0)
                let milliseconds = Int32(left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000) + 1
                let result = poll(&poller, 1, milliseconds)
                if result > 0 { return true }
                if result < 0 && errno != EINTR { return false }
            }
        }
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 2048)
        let requestBy = ContinuousClock.now + Self.requestDeadline
        while request.count < 8192 {
            guard ready(POLLIN, by: requestBy) else { return }
            let count = recv(client, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count < 0 && (errno == EAGAIN || errno == EINTR) { continue }
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
            response = ("200 OK", text(), "text/plain; version=0.0.4; charset=utf-8")
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
            guard ready(POLLOUT, by: deadline) else { return }
            let count = bytes[sent...].withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
            if count < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            if count <= 0 { return }
            sent += count
        }
    }
}

