import Foundation
import Synchronization

/// One HTTP request as a `LocalHTTPServer` received it.
struct ReceivedRequest: Sendable {
    var method: String
    var target: String
    /// Lowercased names.
    var headers: [String: String]
    var body: Data
}

/// A minimal scripted server on 127.0.0.1 for failure cases real servers cannot be asked to
/// produce (skewed clocks, expired tokens, stalls, resets). Connections are served one after
/// another on one thread by `handler`, which gets the connection and its index (0 for the first).
final class LocalHTTPServer: Sendable {
    let port: Int
    private let listenFD: Int32
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    let requests = Recorder<ReceivedRequest>()

    var endpoint: String { "http://127.0.0.1:\(port)" }
    var isStopping: Bool { stopping.load(ordering: .relaxed) }

    struct SetupError: Error, CustomStringConvertible { let description: String }

    /// Listens on a free port. `receiveBuffer` sets SO_RCVBUF of accepted connections; with
    /// `accepting: false` the server never accepts, so connections pile up in the backlog.
    init(backlog: Int32 = 8, receiveBuffer: Int32? = nil, accepting: Bool = true,
         handler: @escaping @Sendable (LocalConnection, Int) -> Void) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SetupError(description: "socket: errno \(errno)") }
        var one: Int32 = 1
        // Safe: each setsockopt gets a pointer to an Int32 local and its exact size.
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if var size = receiveBuffer {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        // Safe: `addr` is a sockaddr_in of the size passed; the rebinding lasts only for the call.
        let bound = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0, listen(fd, backlog) == 0 else {
            close(fd)
            throw SetupError(description: "bind/listen on 127.0.0.1 failed: errno \(errno)")
        }
        // Safe: as above, `addr` and `length` describe one sockaddr_in for the call.
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        listenFD = fd
        port = Int(UInt16(bigEndian: addr.sin_port))

        guard accepting else {
            finished.signal()
            return
        }
        let thread = Thread { [self] in
            var index = 0
            while !isStopping {
                let connection = accept(listenFD, nil, nil)
                if connection < 0 {
                    if errno == EINTR { continue }
                    break
                }
                handler(LocalConnection(fd: connection, server: self), index)
                close(connection)
                index += 1
            }
            finished.signal()
        }
        thread.start()
    }

    /// Stops accepting, lets a waiting handler return, and waits for the server thread.
    func stop() {
        guard !stopping.exchange(true, ordering: .relaxed) else { return }
        shutdown(listenFD, Int32(SHUT_RDWR))
        finished.wait()
        close(listenFD)
    }

    deinit { stop() }
}

/// One accepted connection, used by the server thread only.
final class LocalConnection {
    let fd: Int32
    unowned let server: LocalHTTPServer
    private var buffer = Data()

    init(fd: Int32, server: LocalHTTPServer) {
        self.fd = fd
        self.server = server
    }

    /// Reads more bytes into `buffer`; false at end of stream or on error.
    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        // Safe: `chunk` has `chunk.count` writable bytes for the duration of the call.
        let n = read(fd, &chunk, chunk.count)
        guard n > 0 else { return false }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    /// Reads a request line and headers, and the body unless `readBody` is false (then only the
    /// head is consumed). Records the request. Nil if the peer closed first.
    @discardableResult
    func readRequest(readBody: Bool = true) -> ReceivedRequest? {
        let separator = Data("\r\n\r\n".utf8)
        var end = buffer.range(of: separator)
        while end == nil {
            guard fill() else { return nil }
            end = buffer.range(of: separator)
        }
        let head = String(decoding: buffer[buffer.startIndex..<end!.lowerBound], as: UTF8.self)
        buffer = Data(buffer[end!.upperBound...])
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Data()
        if readBody, let length = headers["content-length"].flatMap(Int.init) {
            while buffer.count < length { guard fill() else { return nil } }
            body = Data(buffer.prefix(length))
            buffer = Data(buffer.dropFirst(length))
        }
        let request = ReceivedRequest(method: requestLine.first.map(String.init) ?? "",
                                      target: requestLine.count > 1 ? String(requestLine[1]) : "",
                                      headers: headers, body: body)
        server.requests.append(request)
        return request
    }

    /// Reads and drops at least `count` bytes (fewer if the peer closes).
    func discard(atLeast count: Int) {
        while buffer.count < count { guard fill() else { return } }
        buffer.removeAll()
    }

    /// Sends a response, with `Connection: close` unless `keepAlive`; headers are given
    /// without Content-Length.
    func respond(status: String, headers: [(String, String)] = [], body: Data = Data(), keepAlive: Bool = false) {
        var text = "HTTP/1.1 \(status)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "Content-Length: \(body.count)\r\n" + (keepAlive ? "" : "Connection: close\r\n") + "\r\n"
        var bytes = Array(text.utf8) + Array(body)
        while !bytes.isEmpty {
            // Safe: `bytes` has `bytes.count` readable bytes for the duration of the call.
            let n = write(fd, &bytes, bytes.count)
            guard n > 0 else { return }
            bytes.removeFirst(n)
        }
    }

    /// Reads and drops whatever arrives until the peer closes or the server stops.
    func drainUntilClosed() {
        while !server.isStopping, fill() { buffer.removeAll() }
    }

    /// Holds the connection open without reading until the server stops.
    func holdWithoutReading() {
        while !server.isStopping { usleep(20_000) }
    }

    /// Closes with a TCP reset instead of an orderly shutdown.
    func reset() {
        var linger = Foundation.linger(l_onoff: 1, l_linger: 0)
        // Safe: a pointer to a `linger` local and its exact size, for the call only.
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Foundation.linger>.size))
        // The server thread closes the descriptor when the handler returns.
    }
}

/// An S3 XML error document.
func s3ErrorXML(code: String, message: String, extra: String = "") -> Data {
    Data("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>\(code)</Code><Message>\(message)</Message>\(extra)<RequestId>LOCAL1</RequestId></Error>".utf8)
}

/// `Date` header format (RFC 7231 IMF-fixdate).
func httpDate(_ date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "GMT")
    formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
    return formatter.string(from: date)
}

/// ISO 8601 with milliseconds, as S3 writes `ServerTime`.
func isoDate(_ date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "GMT")
    formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
    return formatter.string(from: date)
}

/// Parses an `x-amz-date` value.
func parseAmzDate(_ text: String) -> Date? {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "GMT")
    formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
    return formatter.date(from: text)
}
