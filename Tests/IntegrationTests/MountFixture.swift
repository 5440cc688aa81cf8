import Foundation
import RecsyncS3
import XCTest

/// A real recsync mount for one test: a temporary folder mounted by the built `recsync` binary
/// against a real S3-compatible server, unmounted again even when the test fails.
final class MountFixture {
    let server: TestServer
    let bucket: String
    let root: URL
    let mountpoint: URL
    let stateDir: URL
    var extraArguments: [String]
    /// The endpoint the mount talks to; nil: the server's own. Set it to put a proxy in between
    /// while `object`, `head` and `keys` still read from the server directly.
    var mountEndpoint: String?
    /// The secret key handed to the mount; nil: the server's. Set it to mount with a wrong one.
    var mountSecretKey: String?
    /// A session token handed to the mount with the keys; nil: none.
    var sessionToken: String?
    /// Put before the mount command, e.g. `nsenter --net=/run/netns/NAME --` to run the daemon
    /// inside a network namespace.
    var launcher: [String] = []
    var mounted = false

    static var binary: String {
        if let explicit = ProcessInfo.processInfo.environment["RECSYNC_BIN"] { return explicit }
        // The test bundle sits next to the products of the same build.
        let candidates = [Bundle.main.executableURL, URL(fileURLWithPath: CommandLine.arguments[0])]
            .compactMap { $0?.deletingLastPathComponent().appendingPathComponent("recsync").path }
            + Bundle.allBundles.map { $0.bundleURL.deletingLastPathComponent().appendingPathComponent("recsync").path }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? "recsync"
    }

    init(server: TestServer, bucket: String? = nil, arguments: [String] = []) throws {
        self.server = server
        self.bucket = try bucket ?? server.makeBucket()
        root = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("recsync-it-\(UUID().uuidString.prefix(8))")
        mountpoint = root.appendingPathComponent("Recordings")
        stateDir = root.appendingPathComponent("state")
        extraArguments = arguments
        try FileManager.default.createDirectory(at: mountpoint, withIntermediateDirectories: true)
    }

    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["AWS_ACCESS_KEY_ID"] = server.accessKey
        env["AWS_SECRET_ACCESS_KEY"] = mountSecretKey ?? server.secretKey
        env["AWS_SESSION_TOKEN"] = sessionToken
        env["AWS_PROFILE"] = nil
        env["AWS_ENDPOINT_URL"] = nil
        env["AWS_ENDPOINT_URL_S3"] = nil
        return env
    }

    var mountArguments: [String] {
        [Self.binary, "mount", mountpoint.path, "--bucket", bucket, "--endpoint", mountEndpoint ?? server.endpoint,
         "--region", server.region, "--state-dir", stateDir.path, "--log-level", "debug"] + extraArguments
    }

    func mount(file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try Shell.run(launcher + mountArguments, environment: environment)
        guard result.succeeded else {
            XCTFail("recsync mount failed (\(result.status)): \(result.stderr)\n\(log)", file: file, line: line)
            throw TestFailure("mount failed")
        }
        mounted = true
    }

    func unmount(file: StaticString = #filePath, line: UInt = #line) throws {
        guard mounted else { return }
        let result = try Shell.run([Self.binary, "unmount", mountpoint.path])
        mounted = false
        if !result.succeeded {
            _ = try? Shell.run(["fusermount3", "-uz", mountpoint.path])
            XCTFail("recsync unmount failed (\(result.status)): \(result.stderr)", file: file, line: line)
        }
    }

    /// Unmounts (lazily if needed), ends the daemon if it is still there, and removes the files.
    func tearDown() {
        if mounted {
            _ = try? Shell.run([Self.binary, "unmount", mountpoint.path], timeout: 60)
        }
        if isMounted { _ = try? Shell.run(["fusermount3", "-uz", mountpoint.path]) }
        if let pid = daemonPID, Self.isAlive(pid) { kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(at: root)
    }

    var isMounted: Bool {
        let info = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        return info.split(separator: "\n").contains { $0.split(separator: " ").count > 4 && $0.split(separator: " ")[4] == Substring(mountpoint.path) }
    }

    var runtimeFile: String {
        "/run/recsync/" + mountpoint.path.dropFirst().split(separator: "/")
            .map { $0.replacingOccurrences(of: "-", with: "\\x2d") }.joined(separator: "-") + ".pid"
    }

    var daemonPID: pid_t? {
        (try? String(contentsOfFile: runtimeFile, encoding: .utf8)).flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    var log: String {
        (try? String(contentsOf: stateDir.appendingPathComponent("recsync.log"), encoding: .utf8)) ?? "(no log)"
    }

    /// Whether a process still runs; one that exited but was not reaped yet by its parent does not.
    static func isAlive(_ pid: pid_t) -> Bool {
        guard kill(pid, 0) == 0,
              let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        return state != "Z" && state != "X"
    }

    func path(_ name: String) -> String { mountpoint.appendingPathComponent(name).path }

    /// Runs `recsync ARGUMENTS` with the mount's environment.
    func recsync(_ arguments: [String]) throws -> CommandResult {
        try Shell.run([Self.binary] + arguments, environment: environment)
    }

    /// Writes `text` to a config file in the test's folder and adds `--config FILE` to the mount arguments.
    func useConfig(_ text: String) throws {
        let file = root.appendingPathComponent("config.toml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        if !extraArguments.contains(file.path) { extraArguments += ["--config", file.path] }
    }

    /// Kills the daemon with SIGKILL, waits until it is gone and detaches the dead mount, the way
    /// a crash and `fusermount3 -uz` leave it. The queue and the files stay for the next mount.
    /// With `detach: false` the dead mount stays, as after a real crash, for `recsync mount` to clear.
    func killDaemon(detach: Bool = true, file: StaticString = #filePath, line: UInt = #line) throws {
        let pid = try XCTUnwrap(daemonPID, "the daemon writes its pid to \(runtimeFile)", file: file, line: line)
        kill(pid, SIGKILL)
        let deadline = Date().addingTimeInterval(10)
        while Self.isAlive(pid), Date() < deadline { usleep(5_000) }
        XCTAssertFalse(Self.isAlive(pid), "the daemon \(pid) survived SIGKILL for 10 s", file: file, line: line)
        if detach { _ = try Shell.run(["fusermount3", "-uz", mountpoint.path]) }
        mounted = false
    }

    /// Reads a `user.sync.*` attribute with getfattr, as a user would; nil when it does not exist.
    func attribute(_ name: String, of file: String) throws -> String? {
        let result = try Shell.run(["getfattr", "--only-values", "--absolute-names", "-n", name, path(file)])
        return result.succeeded ? result.stdout : nil
    }

    func status(_ file: String) throws -> String? { try attribute("user.sync.status", of: file) }

    /// Waits until the file reports `expected`, failing with its error and the log otherwise.
    func waitForStatus(_ file: String, _ expected: String, timeout: TimeInterval = 20,
                       testFile: StaticString = #filePath, line: UInt = #line) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var last: String?
        while Date() < deadline {
            last = try status(file)
            if last == expected { return }
            usleep(50_000)
        }
        let error = (try? attribute("user.sync.error", of: file)) ?? nil
        XCTFail("\(file): status \(last ?? "none") after \(timeout) s, expected \(expected); error: \(error ?? "none")\n--- log ---\n\(log.suffix(4000))",
                file: testFile, line: line)
        throw TestFailure("status wait failed")
    }

    func client() throws -> CurlS3Client { try server.client() }

    func object(_ key: String) throws -> Data { try client().getObject(bucket: bucket, key: key) }

    func head(_ key: String) throws -> ObjectInfo? { try client().headObject(bucket: bucket, key: key) }

    func keys() throws -> [String] { try client().listObjects(bucket: bucket, prefix: "").map(\.key).sorted() }

    func backingContents(_ file: String) throws -> Data {
        try Data(contentsOf: mountpoint.appendingPathComponent(file))
    }

    static var yearMonth: String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month], from: Date())
        return String(format: "%04d/%02d", parts.year!, parts.month!)
    }
}
