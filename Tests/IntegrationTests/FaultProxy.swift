import Foundation
import XCTest

/// One fault rule for `Tests/tools/faultproxy.py` (its docstring describes the modes).
struct FaultRule {
    enum Mode: String {
        case pass, serviceUnavailable = "503", internalError = "500", reset, hang, slow, corrupt
    }

    var mode: Mode
    var method: String? = "PUT"
    /// A regular expression searched in the request path.
    var path: String?
    /// A regular expression searched in the query string (`(^|&)partNumber=2(&|$)`: part 2).
    var query: String?
    /// Affect this many matching requests in total.
    var count: Int?
    /// Affect the first this many matching requests of each path (each object key).
    var countPerPath: Int?
    /// `slow`: bytes per second.
    var rate: Int?
    /// `slow`: seconds the response is held before it is relayed.
    var delay: Double?
    /// Affect a matching request only this often (0...1), decided by the proxy's seeded random.
    var probability: Double?

    var json: [String: Any] {
        var rule: [String: Any] = ["mode": mode.rawValue]
        if let method { rule["method"] = method }
        if let path { rule["path"] = path }
        if let query { rule["query"] = query }
        if let count { rule["count"] = count }
        if let countPerPath { rule["count_per_path"] = countPerPath }
        if let rate { rule["rate"] = rate }
        if let delay { rule["delay"] = delay }
        if let probability { rule["probability"] = probability }
        return rule
    }
}

/// One line of the proxy's request log.
struct ProxyRequest: Decodable {
    let id: Int
    /// When the request head arrived, seconds since 1970.
    let time: Double
    /// When the proxy was done with it (answered, reset, or the client went away).
    let end: Double
    let method: String
    let path: String
    let query: String
    let fault: String
    /// What the client was sent; nil when nothing was.
    let status: Int?
    /// What the upstream server answered; nil when it was not asked or did not answer.
    let upstreamStatus: Int?
    let requestBytes: Int
    let error: String?
    /// Answered, then its connection was reset when the server went down before the client
    /// sent anything more on it: the client may never have read the answer, and may send the
    /// request again.
    var resetAfterAnswer = false

    enum CodingKeys: String, CodingKey {
        case id, time, end, method, path, query, fault, status, error
        case upstreamStatus = "upstream_status"
        case requestBytes = "request_bytes"
    }

    /// The path with percent-encoding removed: `/bucket/key`.
    var decodedPath: String { path.removingPercentEncoding ?? path }
}

/// A line of the proxy's log that is not a request: the server went down.
private struct ProxyEvent: Decodable {
    let event: String
    let resetAfterAnswer: [Int]

    enum CodingKeys: String, CodingKey {
        case event
        case resetAfterAnswer = "reset_after_answer"
    }
}

/// `Tests/tools/faultproxy.py` as a child process of the test: an HTTP proxy in front of a test
/// server that injects faults on request. Started with posix_spawn and reaped with waitpid by
/// pid (Foundation.Process's reaping is unreliable under XCTest on Linux).
final class FaultProxy {
    let upstream: String
    let pid: pid_t
    let port: Int
    let controlPort: Int
    let logFile: URL
    /// The address it listens on (inside `netns` when one was given).
    let listenHost: String
    private let directory: URL
    private var stopped = false

    var endpoint: String { "http://\(listenHost):\(port)" }

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tools/faultproxy.py").path
    }

    /// With `netns`, the proxy listens on `listenHost` inside that network namespace (the test's
    /// client reaches the server only over the namespace's links) and connects upstream from the
    /// test's own namespace.
    init(upstream: String, rules: [FaultRule] = [], listenHost: String = "127.0.0.1", netns: String? = nil,
         file: StaticString = #filePath, line: UInt = #line) throws {
        self.upstream = upstream
        self.listenHost = listenHost
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("faultproxy-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        logFile = directory.appendingPathComponent("requests.jsonl")
        let outPath = directory.appendingPathComponent("stdout").path
        let errPath = directory.appendingPathComponent("stderr").path
        guard FileManager.default.isReadableFile(atPath: Self.script) else {
            let message = "the fault proxy \(Self.script) is missing"
            XCTFail(message, file: file, line: line)
            throw TestFailure(message)
        }
        let rulesJSON = String(decoding: try JSONSerialization.data(withJSONObject: rules.map(\.json)), as: UTF8.self)
        let arguments = ["/usr/bin/env", "python3", "-u", Self.script, "--upstream", upstream,
                         "--log", logFile.path, "--rules", rulesJSON, "--listen", listenHost]
            + (netns.map { ["--netns", $0] } ?? [])

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, errPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let env = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { env.forEach { free($0) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, "/usr/bin/env", &actions, nil, argv, env)
        guard spawned == 0 else {
            let message = "cannot start the fault proxy: \(String(cString: strerror(spawned)))"
            XCTFail(message, file: file, line: line)
            throw TestFailure(message)
        }
        pid = child

        // Ready once it printed "PORT n" (after "CONTROL n").
        let deadline = Date().addingTimeInterval(15)
        var ports: [String: Int] = [:]
        while ports["PORT"] == nil {
            var status: Int32 = 0
            if waitpid(child, &status, WNOHANG) == child || Date() > deadline {
                if Date() > deadline { kill(child, SIGKILL); _ = waitpid(child, &status, 0) }
                stopped = true
                let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
                let message = "the fault proxy did not start (python3 \(Self.script) --upstream \(upstream)): \(stderr)"
                XCTFail(message, file: file, line: line)
                throw TestFailure(message)
            }
            usleep(20_000)
            let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
            for line in out.split(separator: "\n") {
                let parts = line.split(separator: " ")
                if parts.count == 2, let value = Int(parts[1]) { ports[String(parts[0])] = value }
            }
        }
        guard let control = ports["CONTROL"] else {
            var status: Int32 = 0
            kill(child, SIGKILL)
            _ = waitpid(child, &status, 0)
            stopped = true
            XCTFail("the fault proxy printed no CONTROL port", file: file, line: line)
            throw TestFailure("the fault proxy printed no CONTROL port")
        }
        port = ports["PORT"]!
        controlPort = control
    }

    deinit { stop() }

    /// Replaces the rules; an empty list lets everything pass.
    func setRules(_ rules: [FaultRule], file: StaticString = #filePath, line: UInt = #line) throws {
        let body = String(decoding: try JSONSerialization.data(withJSONObject: rules.map(\.json)), as: UTF8.self)
        let result = try Shell.run(["curl", "-sS", "--fail-with-body", "-m", "10", "-X", "PUT", "--data-binary", body,
                                    "http://127.0.0.1:\(controlPort)/rules"])
        guard result.succeeded else {
            XCTFail("cannot set the fault proxy's rules: \(result.stdout) \(result.stderr)", file: file, line: line)
            throw TestFailure("fault proxy control failed")
        }
    }

    /// Makes the "server" die (connections refused, open ones reset) or come back on the same port.
    func setServer(up: Bool, file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try Shell.run(["curl", "-sS", "--fail-with-body", "-m", "10", "-X", "PUT", "--data-binary",
                                    "{\"up\": \(up)}", "http://127.0.0.1:\(controlPort)/server"])
        guard result.succeeded else {
            XCTFail("cannot switch the fault proxy's server: \(result.stdout) \(result.stderr)", file: file, line: line)
            throw TestFailure("fault proxy control failed")
        }
    }

    /// Every request so far, in the order they finished.
    func requests() throws -> [ProxyRequest] {
        guard let text = try? String(contentsOf: logFile, encoding: .utf8) else { return [] }
        let decoder = JSONDecoder()
        var requests: [ProxyRequest] = []
        var resetAfterAnswer = Set<Int>()
        for line in text.split(separator: "\n") {
            if let event = try? decoder.decode(ProxyEvent.self, from: Data(line.utf8)) {
                resetAfterAnswer.formUnion(event.resetAfterAnswer)
            } else {
                requests.append(try decoder.decode(ProxyRequest.self, from: Data(line.utf8)))
            }
        }
        for index in requests.indices where resetAfterAnswer.contains(requests[index].id) { requests[index].resetAfterAnswer = true }
        return requests
    }

    /// The PutObject requests for one key, in the order they started.
    func puts(bucket: String, key: String) throws -> [ProxyRequest] {
        try requests().filter { $0.method == "PUT" && $0.query.isEmpty && $0.decodedPath == "/\(bucket)/\(key)" }
            .sorted { $0.time < $1.time }
    }

    /// The proxy's log, for failure messages.
    var logText: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "(no proxy log)" }

    /// Stops the proxy with SIGTERM (SIGKILL after 5 s) and reaps it. Safe to call more than once.
    func stop() {
        guard !stopped else { return }
        stopped = true
        var status: Int32 = 0
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(5)
        while true {
            let result = waitpid(pid, &status, WNOHANG)
            if result == pid || (result < 0 && errno != EINTR) { break }
            if Date() > deadline {
                kill(pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                break
            }
            usleep(10_000)
        }
    }

    /// Removes the proxy's files (its log included).
    func removeFiles() {
        try? FileManager.default.removeItem(at: directory)
    }
}
