import FoundationEssentials
import RecsyncPrimitives
import Glibc

/// How the background process tells the starting one that the mount is live, or why it failed:
/// one line, `READY` or `ERROR <message>`, on an inherited pipe.
enum ReadyPipe {
    static func report(fd: Int32, ready: Bool = false, error: String? = nil) {
        let line = ready ? "READY\n" : "ERROR \(error ?? "unknown failure")\n"
        _ = line.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }

    /// Reads the child's one line; nil when it exited without saying anything.
    static func read(fd: Int32, timeout: TimeInterval) -> String? {
        var collected: [UInt8] = []
        let deadline = Date().addingTimeInterval(timeout)
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let remaining = Int32(max(1, deadline.timeIntervalSinceNow * 1000))
            let ready = poll(&poller, 1, remaining)
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { break }
            let count = Glibc.read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            collected += buffer[0..<count]
            if collected.contains(UInt8(ascii: "\n")) { break }
        }
        guard !collected.isEmpty else { return nil }
        return String(decoding: collected, as: UTF8.self).trimmingWhitespace()
    }
}
