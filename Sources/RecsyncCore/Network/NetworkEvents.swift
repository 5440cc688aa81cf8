import CSysShims
import FoundationEssentials
import RecsyncPrimitives
import Glibc
import Dispatch

/// Tells the monitor that something about the network may have changed. The real source is
/// rtnetlink; tests drive a manual one.
public protocol NetworkEventSource: AnyObject, Sendable {
    /// Calls `changed` (on any thread) after each change, until `stop()`.
    func start(changed: @escaping @Sendable () -> Void) throws
    func stop()
}

/// The kernel's rtnetlink notifications: links going up or down, addresses and routes of IPv4 and
/// IPv6 appearing or going away. Messages are not parsed: any of them means "look again".
public final class RtnetlinkEventSource: NetworkEventSource, @unchecked Sendable {
    /// Guards `fd` and `wakePipe`; the reader thread owns the descriptors until `stop()` returns.
    private let lock = Lock()
    private var fd: Int32 = -1
    private var wakePipe: (read: Int32, write: Int32) = (-1, -1)
    private var thread: WorkerThread?
    private let done = DispatchSemaphore(value: 0)

    public init() {}

    public func start(changed: @escaping @Sendable () -> Void) throws {
        let socket = recsync_netlink_route_socket()
        guard socket >= 0 else {
            throw NetworkMonitorError("cannot subscribe to network changes (rtnetlink): \(String(cString: strerror(errno)))")
        }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            close(socket)
            throw NetworkMonitorError("cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        lock.lock()
        fd = socket
        wakePipe = (fds[0], fds[1])
        lock.unlock()
        let stopFd = fds[0]
        let reader = WorkerThread { [self] in
            readLoop(socket: socket, stopFd: stopFd, changed: changed)
            done.signal()
        }
        reader.name = "recsync-netlink"
        thread = reader
        reader.start()
    }

    private func readLoop(socket: Int32, stopFd: Int32, changed: @Sendable () -> Void) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            var fds = [pollfd(fd: socket, events: Int16(POLLIN), revents: 0), pollfd(fd: stopFd, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, 2, -1)
            if ready < 0 && errno == EINTR { continue }
            if ready < 0 || fds[1].revents != 0 { return }
            var got = false
            // Drain every queued message; one look covers them all. ENOBUFS means messages were
            // lost, which also just means "look again".
            while true {
                let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if count > 0 { got = true; continue }
                if count < 0 && errno == ENOBUFS { got = true; continue }
                break
            }
            if got { changed() }
        }
    }

    public func stop() {
        lock.lock()
        let (socket, pipeFds) = (fd, wakePipe)
        fd = -1
        wakePipe = (-1, -1)
        lock.unlock()
        guard socket >= 0 else { return }
        var byte: UInt8 = 1
        _ = write(pipeFds.write, &byte, 1)
        done.wait()
        close(socket)
        close(pipeFds.read)
        close(pipeFds.write)
    }
}

/// An event source that only fires when told to (tests, or network awareness turned off).
public final class ManualEventSource: NetworkEventSource, @unchecked Sendable {
    private let lock = Lock()
    private var handler: (@Sendable () -> Void)?

    public init() {}

    public func start(changed: @escaping @Sendable () -> Void) throws {
        lock.lock()
        handler = changed
        lock.unlock()
    }

    public func stop() {
        lock.lock()
        handler = nil
        lock.unlock()
    }

    /// Reports a change, as the kernel would.
    public func fire() {
        lock.lock()
        let current = handler
        lock.unlock()
        current?()
    }
}

public struct NetworkMonitorError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
