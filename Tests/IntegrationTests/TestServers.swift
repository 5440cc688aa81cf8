import Foundation
import RecsyncS3
import XCTest

/// The S3-compatible servers the integration tests talk to. They are started by
/// scripts/servers/start-all.sh (which scripts/test.sh and .ci/run call) and described by
/// environment variables; a test whose server is missing fails loudly, it never skips.
struct TestServer {
    /// A port of 127.0.0.1 that nobody listens on now, chosen by the kernel (a port picked at
    /// random can be one a server or an outgoing connection already holds).
    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    let name: String
    let endpoint: String
    let accessKey: String
    let secretKey: String
    let region: String

    static func moto(file: StaticString = #filePath, line: UInt = #line) throws -> TestServer {
        try named("MOTO", file: file, line: line)
    }

    static func radosgw(file: StaticString = #filePath, line: UInt = #line) throws -> TestServer {
        try named("RGW", file: file, line: line)
    }

    private static func named(_ tag: String, file: StaticString, line: UInt) throws -> TestServer {
        let env = ProcessInfo.processInfo.environment
        guard let endpoint = env["RECSYNC_TEST_\(tag)_ENDPOINT"], let access = env["RECSYNC_TEST_\(tag)_ACCESS_KEY"],
              let secret = env["RECSYNC_TEST_\(tag)_SECRET_KEY"] else {
            let message = "RECSYNC_TEST_\(tag)_* is not set: start the test servers with 'scripts/servers/start-all.sh' and source .servers/servers.env, or run 'scripts/test.sh'"
            XCTFail(message, file: file, line: line)
            throw TestFailure(message)
        }
        return TestServer(name: tag.lowercased(), endpoint: endpoint, accessKey: access, secretKey: secret,
                          region: env["RECSYNC_TEST_\(tag)_REGION"] ?? "us-east-1")
    }

    var credentials: S3Credentials { S3Credentials(accessKeyId: accessKey, secretAccessKey: secretKey) }

    func client() throws -> CurlS3Client {
        let endpoint = try S3Endpoint(endpoint: endpoint, region: region, pathStyle: true, environment: [:])
        return CurlS3Client(endpoint: endpoint, credentials: credentials, logger: .init(label: "test"))
    }

    /// A fresh bucket for one test.
    func makeBucket(_ prefix: String = "rt") throws -> String {
        let name = "\(prefix)-\(UUID().uuidString.lowercased().prefix(18))"
        try client().createBucket(bucket: name)
        return name
    }
}
