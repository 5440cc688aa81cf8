import Foundation
import RecsyncS3
import Synchronization
import XCTest

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

/// The radosgw the tests were given (RECSYNC_TEST_RGW_ENDPOINT, RECSYNC_TEST_RGW_ACCESS_KEY,
/// RECSYNC_TEST_RGW_SECRET_KEY, optional RECSYNC_TEST_RGW_REGION), path-style. Without it the
/// test fails under CI and is skipped, saying so, elsewhere.
func radosGatewayFromEnvironment(_ what: String) throws -> (endpoint: S3Endpoint, credentials: S3Credentials) {
    let env = ProcessInfo.processInfo.environment
    guard let url = env["RECSYNC_TEST_RGW_ENDPOINT"], let key = env["RECSYNC_TEST_RGW_ACCESS_KEY"],
          let secret = env["RECSYNC_TEST_RGW_SECRET_KEY"] else {
        let message = "\(what) need RECSYNC_TEST_RGW_ENDPOINT, RECSYNC_TEST_RGW_ACCESS_KEY and RECSYNC_TEST_RGW_SECRET_KEY; start a local radosgw and export them."
        if env["CI"] != nil {
            XCTFail(message)
            struct MissingServer: Error {}
            throw MissingServer()
        }
        throw XCTSkip(message)
    }
    let endpoint = try S3Endpoint(endpoint: url, region: env["RECSYNC_TEST_RGW_REGION"] ?? "us-east-1", pathStyle: true,
                                  environment: [:])
    return (endpoint, S3Credentials(accessKeyId: key, secretAccessKey: secret))
}
