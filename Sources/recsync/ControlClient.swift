import CSysShims
import FoundationEssentials
import RecsyncFS
import RecsyncCore
import Glibc

/// Talks to a running daemon over its control socket.
struct ControlClient {
    let mountpoint: String
    let socketPath: String

    /// The recsync mount that holds `path` (a file, a folder, or the mountpoint itself).
    static func forPath(_ path: String) throws -> (client: ControlClient, relative: String) {
        let absolute = Paths.absolute(path)
        guard let mountpoint = MountTable.recsyncMount(containing: absolute) else {
            throw CLIError.usage("\(absolute) is not inside a recsync mount; mount one with 'recsync mount DIR'")
        }
        guard let rest = NameCoding.dropPrefix(mountpoint, from: absolute) else {
            throw CLIError.usage("\(NameCoding.display(absolute)) is not inside the recsync mount \(NameCoding.display(mountpoint))")
        }
        let relative = String(rest.unicodeScalars.drop { $0 == "/" })
        return (ControlClient(mountpoint: mountpoint), relative)
    }

    init(mountpoint: String) {
        self.mountpoint = mountpoint
        socketPath = Paths.controlSocket(for: mountpoint, environment: ProcessInfo.processInfo.environment)
    }

    func send(_ request: ControlRequest, timeout: TimeInterval = 600) throws -> ControlResponse {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw CLIError("cannot create a socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socketPath.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw CLIError("socket path too long: \(socketPath)") }
        // Safe: the length was checked above; the rest of sun_path stays zero.
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            throw CLIError("cannot reach the recsync daemon of \(mountpoint) (\(String(cString: strerror(errno)))); is it still running? See its log in the state folder")
        }
        // Only a daemon run by root or by this user may answer: anyone else listening on this path
        // could say "everything is synced".
        var peer: uid_t = 0
        guard recsync_peer_uid(fd, &peer) == 0 else {
            throw CLIError("cannot check who answers on \(socketPath): \(String(cString: strerror(errno)))")
        }
        guard peer == 0 || peer == geteuid() else {
            throw CLIError("refusing the answer on \(socketPath): it comes from uid \(peer), neither root nor this user; "
                           + "another user may be posing as the recsync daemon. Remove that socket's folder and mount again")
        }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var payload = try JSONEncoder().encode(request)
        payload.append(UInt8(ascii: "\n"))
        try payload.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                // Safe: writes only within the encoded request's bytes.
                let written = write(fd, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 && errno == EINTR { continue }
                if written <= 0 { throw CLIError("lost the connection to the recsync daemon") }
                offset += written
            }
        }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !data.contains(UInt8(ascii: "\n")) {
            let count = read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            data.append(contentsOf: buffer[0..<count])
        }
        guard let response = try? JSONDecoder().decode(ControlResponse.self, from: data.prefix { $0 != UInt8(ascii: "\n") }) else {
            throw CLIError("the recsync daemon of \(mountpoint) gave no answer")
        }
        if !response.ok { throw CLIError(response.error ?? "the recsync daemon refused the request") }
        return response
    }
}

/// Groups command-line paths by the mount that holds them.
func groupByMount(_ paths: [String]) throws -> [(ControlClient, [String])] {
    var order: [String] = []
    var groups: [String: (ControlClient, [String])] = [:]
    for path in paths {
        let (client, relative) = try ControlClient.forPath(path)
        if groups[client.mountpoint] == nil {
            order.append(client.mountpoint)
            groups[client.mountpoint] = (client, [])
        }
        groups[client.mountpoint]!.1.append(relative)
    }
    return order.map { groups[$0]! }
}
