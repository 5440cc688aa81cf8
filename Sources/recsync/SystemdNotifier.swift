import FoundationEssentials
import RecsyncCore
import Synchronization
import RecsyncPrimitives
import Glibc

/// The sd_notify(3) protocol, without libsystemd: one datagram per message to the socket named
/// by `NOTIFY_SOCKET` (a path, or `@name` in the abstract namespace). Under a `Type=notify` unit
/// the daemon says READY=1 once the mount is live, keeps STATUS= to the queue's summary, and says
/// STOPPING=1 when a stop begins. Without `NOTIFY_SOCKET` nothing is sent.
final class SystemdNotifier: @unchecked Sendable {
    private let fd: Int32
    private let address: sockaddr_un
    private let addressLength: socklen_t
    private let lastStatus = Mutex<String?>(nil)
    private let stopped = Mutex(false)

    init?(environment: [String: String]) {
        guard let socketName = environment["NOTIFY_SOCKET"], !socketName.isEmpty else { return nil }
        var path = Array(socketName.utf8)
        if path.first == UInt8(ascii: "@") { path[0] = 0 }  // the abstract namespace
        var target = sockaddr_un()
        let capacity = MemoryLayout.size(ofValue: target.sun_path)
        guard path.count < capacity, path.first == 0 || path.first == UInt8(ascii: "/") else { return nil }
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        target.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &target.sun_path) { buffer in
            for (index, byte) in path.enumerated() { buffer[index] = byte }
        }
        address = target
        addressLength = socklen_t(MemoryLayout<sa_family_t>.size + path.count + (path.first == 0 ? 0 : 1))
    }

    deinit { close(fd) }

    /// Sends one message (newline-separated `KEY=value` lines). Failures are ignored, as
    /// sd_notify's are: the service manager may be gone.
    func send(_ message: String) {
        let bytes = Array(message.utf8)
        var target = address  // a copy per call: sends come from more than one thread
        _ = withUnsafePointer(to: &target) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), socketAddress, addressLength) }
            }
        }
    }

    /// The mount is live: READY=1 with the daemon's pid and its first status.
    func ready(status: String) {
        lastStatus.withLock { $0 = status }
        send("READY=1\nMAINPID=\(getpid())\nSTATUS=\(status)")
    }

    /// STATUS= when the text changed since the last one sent.
    func update(status: String) {
        let changed = lastStatus.withLock { last -> Bool in
            guard last != status else { return false }
            last = status
            return true
        }
        if changed && !stopped.withLock({ $0 }) { send("STATUS=\(status)") }
    }

    func stopping() {
        stopped.withLock { $0 = true }
        send("STOPPING=1\nSTATUS=stopping")
    }

    /// Keeps STATUS= to `status()` every `interval` seconds until `stopping()`.
    func follow(every interval: TimeInterval, _ status: @escaping @Sendable () -> String?) {
        let thread = WorkerThread { [self] in
            while !stopped.withLock({ $0 }) {
                WorkerThread.sleep(forTimeInterval: interval)
                if let text = status() { update(status: text) }
            }
        }
        thread.name = "recsync-sd-notify"
        thread.start()
    }
}

extension SyncSummary {
    /// One line for systemd's STATUS=: counts that are not zero, bytes waiting, why paused.
    var statusLine: String {
        let order = ["syncing", "pending", "failed", "local", "synced"]
        var parts = order.compactMap { name in counts[name].flatMap { $0 > 0 ? "\($0) \(name)" : nil } }
        if parts.isEmpty { parts = ["nothing queued"] }
        var line = parts.joined(separator: ", ")
        if bytesWaiting > 0 {
            line += "; \(NumberText.byteCount(bytesWaiting, binary: true)) waiting"
        }
        if let paused { line += "; paused: \(paused)" }
        return line
    }
}
