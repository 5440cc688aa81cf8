import Foundation
import Synchronization

/// A thread-safe counter for callbacks.
final class Counter: Sendable {
    private let storage = Atomic<Int>(0)

    /// Adds one and returns the new value.
    @discardableResult
    func increment() -> Int { storage.add(1, ordering: .relaxed).newValue }

    var value: Int { storage.load(ordering: .relaxed) }
}

/// Collects values reported from any thread.
final class Recorder<T: Sendable>: Sendable {
    private let storage = Mutex<[T]>([])

    func append(_ value: T) { storage.withLock { $0.append(value) } }

    var values: [T] { storage.withLock { $0 } }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
func freeLocalPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    // Safe: `addr` is a sockaddr_in of the size passed; the rebinding lasts only for the call.
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}
