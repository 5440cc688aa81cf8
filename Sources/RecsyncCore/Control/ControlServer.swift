import CSysShims
import FoundationEssentials
import Logging
import RecsyncPrimitives
import Glibc

/// Serves the control socket (`<runtime dir>/<mount>.sock`): the `recsync status`, `sync-now`,
/// `retry` and `import` commands talk to the daemon through it. Only root and the user running
/// the daemon may connect (checked with SO_PEERCRED; the socket is also mode 0600).
///
/// Threading: one accept thread; each connection is served on its own short-lived thread.
/// `listenFd` is written only in `start` and `stop`.
public final class ControlServer: @unchecked Sendable {
    public let socketPath: String
    let handler: @Sendable (ControlRequest) -> ControlResponse
    let logger: Logger
    private var listenFd: Int32 = -1
    static let maxRequestBytes = 1 << 20

    public init(socketPath: String, logger: Logger, handler: @escaping @Sendable (ControlRequest) -> ControlResponse) {
        self.socketPath = socketPath
        self.handler = handler
        self.logger = logger
    }

    public func start() throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ControlError("cannot create the control socket: \(String(cString: strerror(errno)))") }
        unlink(socketPath)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socketPath.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            throw ControlError("control socket path is too long: \(socketPath)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            // Safe: the length was checked above and the rest of sun_path stays zero.
            raw.copyBytes(from: bytes)
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, chmod(socketPath, 0o600) == 0, listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ControlError("cannot listen on \(socketPath): \(reason)")
        }
        listenFd = fd
        let thread = WorkerThread { [self] in self.acceptLoop(fd) }
        thread.name = "recsync-control"
        thread.start()
    }

    public func stop() {
        if listenFd >= 0 {
            shutdown(listenFd, Int32(SHUT_RDWR))
            close(listenFd)
            listenFd = -1
        }
        unlink(socketPath)
    }

    private func acceptLoop(_ fd: Int32) {
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return  // closed by stop()
            }
            _ = fcntl(client, F_SETFD, FD_CLOEXEC)
            let thread = WorkerThread { [self] in self.serve(client) }
            thread.name = "recsync-control-client"
            if !thread.start() { close(client) }  // the client sees the connection end
        }
    }

    private func serve(_ client: Int32) {
        defer { close(client) }
        var peer: uid_t = 0
        guard recsync_peer_uid(client, &peer) == 0, peer == 0 || peer == geteuid() else {
            write(client, ControlResponse(ok: false, error: "permission denied: only root or the user running recsync may control this mount"))
            return
        }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !data.contains(UInt8(ascii: "\n")) && data.count < Self.maxRequestBytes {
            let count = read(client, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            data.append(contentsOf: buffer[0..<count])
        }
        guard let request = try? JSONDecoder().decode(ControlRequest.self, from: data.prefix { $0 != UInt8(ascii: "\n") }) else {
            write(client, ControlResponse(ok: false, error: "malformed request; use the recsync command line"))
            return
        }
        write(client, handler(request))
    }

    private func write(_ client: Int32, _ response: ControlResponse) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        guard var data = try? encoder.encode(response) else { return }
        data.append(UInt8(ascii: "\n"))
        data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                // Safe: writes only within the encoded response's bytes.
                let written = Glibc.write(client, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { return }
                offset += written
            }
        }
    }
}

public struct ControlError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
