import Foundation
import XCTest

/// A moto_server process on 127.0.0.1 with authentication switched on, and an IAM key pair
/// allowed to use S3. Started by the tests that need it and stopped by process id.
final class MotoServer {
    static let installHint = "moto_server was not found in PATH. Install it with `pip install 'moto[server]' boto3` (the tests run it on 127.0.0.1) and make sure its bin directory is on PATH."

    let port: Int
    let accessKeyId: String
    let secretAccessKey: String
    let process: Process
    let logPath: String

    var endpoint: String { "http://127.0.0.1:\(port)" }

    struct Unavailable: Error, CustomStringConvertible { let description: String }

    /// Finds an executable in PATH.
    static func which(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Starts moto; signature checking turns on after the three IAM calls that create the user,
    /// its policy and its access key.
    /// `start()` for a test's set-up: a missing moto_server fails the test (never a silent skip:
    /// it is a broken test environment) and is rethrown.
    static func startForTest() throws -> MotoServer {
        do {
            return try start()
        } catch let error as Unavailable {
            XCTFail(error.description)
            throw error
        }
    }

    static func start() throws -> MotoServer {
        guard let moto = which("moto_server") else { throw Unavailable(description: installHint) }
        guard let python = which("python3") else { throw Unavailable(description: "python3 with boto3 is needed to create the IAM key in moto: install python3 and `pip install boto3`.") }
        let port = freeLocalPort()
        let logPath = NSTemporaryDirectory() + "recsync-moto-\(port).log"
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: moto)
        process.arguments = ["-H", "127.0.0.1", "-p", String(port)]
        var env = ProcessInfo.processInfo.environment
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"
        process.environment = env
        process.standardOutput = log
        process.standardError = log
        try process.run()

        func fail(_ message: String) -> Unavailable {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
            let output = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
            return Unavailable(description: "\(message)\nmoto_server output:\n\(output.suffix(2000))")
        }

        // Wait for the port with plain TCP connects (HTTP requests would count as actions).
        let deadline = Date().addingTimeInterval(30)
        while !canConnect(port: port) {
            guard process.isRunning, Date() < deadline else { throw fail("moto_server did not start listening on 127.0.0.1:\(port)") }
            usleep(100_000)
        }

        let script = """
        import boto3, json, sys
        e = sys.argv[1]
        iam = boto3.client("iam", endpoint_url=e, region_name="us-east-1", aws_access_key_id="setup", aws_secret_access_key="setup")
        iam.create_user(UserName="recsync-test")
        iam.put_user_policy(UserName="recsync-test", PolicyName="s3-all", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName="recsync-test")["AccessKey"]
        print(json.dumps({"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}))
        """
        let setup = Process()
        setup.executableURL = URL(fileURLWithPath: python)
        setup.arguments = ["-c", script, "http://127.0.0.1:\(port)"]
        let out = Pipe()
        let err = Pipe()
        setup.standardOutput = out
        setup.standardError = err
        try setup.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        setup.waitUntilExit()
        guard setup.terminationStatus == 0,
              let json = try? JSONSerialization.jsonObject(with: outData) as? [String: String],
              let id = json["id"], let secret = json["secret"] else {
            throw fail("creating the IAM access key in moto failed (is boto3 installed?): \(String(decoding: errData, as: UTF8.self))")
        }
        return MotoServer(port: port, accessKeyId: id, secretAccessKey: secret, process: process, logPath: logPath)
    }

    private init(port: Int, accessKeyId: String, secretAccessKey: String, process: Process, logPath: String) {
        self.port = port
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.process = process
        self.logPath = logPath
    }

    /// Turns moto's signature checking off (its `/moto-api/reset-auth` endpoint).
    func disableSignatureChecks() throws {
        guard let python = Self.which("python3") else { throw Unavailable(description: "python3 not found in PATH") }
        let call = Process()
        call.executableURL = URL(fileURLWithPath: python)
        call.arguments = ["-c", "import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1], data=b'1e12', method='POST', headers={'Content-Type': 'text/plain'}))",
                          "\(endpoint)/moto-api/reset-auth"]
        try call.run()
        call.waitUntilExit()
        guard call.terminationStatus == 0 else { throw Unavailable(description: "moto reset-auth call failed") }
    }

    /// Stops the server by its process id.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        unlink(logPath)
    }

    static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        // Safe: `addr` is a sockaddr_in of the size passed; the rebinding lasts only for the call.
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
