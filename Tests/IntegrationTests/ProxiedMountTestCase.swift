import Foundation
import XCTest

/// A file a recorder leaves in the mount: a sox WAV or random bytes written with dd.
enum Recording {
    case wav(String, seconds: Double)
    case random(String, bytes: Int)

    var name: String {
        switch self {
        case let .wav(name, _), let .random(name, _): return name
        }
    }

    /// Writes the file at `path` with the tool a user would use.
    func write(to path: String) throws {
        let result: CommandResult
        switch self {
        case let .wav(_, seconds):
            result = try Shell.run(["sox", "-n", "-r", "44100", "-c", "2", "-b", "16", path,
                                    "synth", String(format: "%.3f", seconds), "sine", "440"])
        case let .random(_, bytes):
            result = try Shell.run(["dd", "if=/dev/urandom", "of=\(path)", "bs=\(bytes)", "count=1", "iflag=fullblock", "status=none"])
        }
        guard result.succeeded else { throw TestFailure("cannot write \(path): \(result.stderr)") }
    }
}

/// The upload retry contract the tests check against (docs/SEMANTICS.md): at most `maxAttempts`
/// counted attempts; the n-th retry waits min(1 s × 2^(n-1), 300 s) ±25 %.
enum UploadPolicy {
    static let maxAttempts = 5
    static let jitter = 0.25

    static func delay(beforeRetry n: Int) -> Double { min(pow(2, Double(n - 1)), 300) }
}

/// A test whose mount talks to its server through a `FaultProxy`. tearDown stops the proxy and
/// unmounts, also when the test failed.
class ProxiedMountTestCase: XCTestCase {
    var fixture: MountFixture!
    var proxy: FaultProxy!

    override func tearDown() {
        // The proxy goes first, so that requests it holds (hang, slow) end and unmount is quick.
        proxy?.stop()
        fixture?.tearDown()
        proxy?.removeFiles()
        super.tearDown()
    }

    /// Starts a proxy in front of `server` with `rules` and mounts through it.
    func mountThroughProxy(server: TestServer, bucket: String? = nil, rules: [FaultRule] = [], config: String? = nil,
                           mount: Bool = true) throws {
        proxy = try FaultProxy(upstream: server.endpoint, rules: rules)
        fixture = try MountFixture(server: server, bucket: bucket)
        fixture.mountEndpoint = proxy.endpoint
        if let config { try fixture.useConfig(config) }
        if mount { try fixture.mount() }
    }

    func write(_ recordings: [Recording]) throws {
        for recording in recordings { try recording.write(to: fixture.path(recording.name)) }
    }

    /// The object key of a queued file.
    func key(of name: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let key = try XCTUnwrap(try fixture.attribute("user.sync.s3key", of: name), "\(name) has no key", file: file, line: line)
        XCTAssertFalse(key.isEmpty, "\(name) has an empty key", file: file, line: line)
        return key
    }

    /// Waits until every file is `synced`, then compares the object, read from the server directly,
    /// with the file.
    func assertSyncedByteForByte(_ names: [String], timeout: TimeInterval = 60,
                                 file: StaticString = #filePath, line: UInt = #line) throws {
        let deadline = Date().addingTimeInterval(timeout)
        for name in names { try waitUntilSynced(name, deadline: deadline, file: file, line: line) }
        for name in names {
            let object = try fixture.object(try key(of: name, file: file, line: line))
            let local = try fixture.backingContents(name)
            XCTAssertEqual(object.count, local.count, "\(name): object size", file: file, line: line)
            XCTAssertTrue(object == local, "\(name): the object's bytes differ from the file's", file: file, line: line)
        }
    }

    /// Waits until the file is `synced`; gives up at once when it is `failed` (only a retry request
    /// gets a failed file going again).
    func waitUntilSynced(_ name: String, deadline: Date, file: StaticString = #filePath, line: UInt = #line) throws {
        var last: String?
        while Date() < deadline {
            last = try fixture.status(name)
            if last == "synced" { return }
            if last == "failed" { break }
            usleep(50_000)
        }
        let error = (try? fixture.attribute("user.sync.error", of: name)) ?? nil
        let attempts = (try? fixture.attribute("user.sync.attempts", of: name)) ?? nil
        var unreadable = ""
        if last == nil {
            let getfattr = try? Shell.run(["getfattr", "-n", "user.sync.status", fixture.path(name)])
            let daemon = fixture.daemonPID.map { "\($0) \(MountFixture.isAlive($0) ? "running" : "gone")" } ?? "no pid file"
            unreadable = "; getfattr: \(getfattr?.stderr ?? "did not run"); mounted: \(fixture.isMounted); daemon: \(daemon)"
        }
        XCTFail("\(name): status \(last ?? "none"), expected synced; attempts \(attempts ?? "none"); error: \(error ?? "none")\(unreadable)"
                + "\n--- proxy log ---\n\(proxy.logText.suffix(3000))\n--- recsync log ---\n\(fixture.log.suffix(3000))",
                file: file, line: line)
        throw TestFailure("\(name) did not reach synced")
    }

    /// Checks the PutObject attempts the proxy saw for one file: `faults` failed attempts with
    /// `mode`, then one that succeeded; never more than the attempt limit; each retry after the
    /// backoff delay (±25 %, plus `slack` seconds for a busy worker).
    func assertRetriedWithinPolicy(_ name: String, faults: Int, mode: FaultRule.Mode, slack: Double = 1.5,
                                   file: StaticString = #filePath, line: UInt = #line) throws {
        let key = try key(of: name, file: file, line: line)
        let puts = try proxy.puts(bucket: fixture.bucket, key: key)
        let summary = puts.map { "[\($0.fault): \($0.status.map(String.init) ?? "-"), upstream \($0.upstreamStatus.map(String.init) ?? "-"), "
            + String(format: "%.3f-%.3f]", $0.time, $0.end) }.joined(separator: " ")
        XCTAssertEqual(puts.count, faults + 1, "\(name): PUT attempts: \(summary)", file: file, line: line)
        XCTAssertLessThanOrEqual(puts.count, UploadPolicy.maxAttempts, "\(name): more attempts than the policy allows: \(summary)",
                                 file: file, line: line)
        XCTAssertEqual(puts.filter { $0.upstreamStatus == 200 }.count, 1, "\(name): successful PUTs: \(summary)", file: file, line: line)
        XCTAssertEqual(puts.prefix(faults).filter { $0.fault == mode.rawValue }.count, faults,
                       "\(name): the first \(faults) attempts should have met the fault: \(summary)", file: file, line: line)
        XCTAssertEqual(puts.last?.upstreamStatus, 200, "\(name): the last attempt should have succeeded: \(summary)", file: file, line: line)
        for index in puts.indices.dropFirst() {
            let gap = puts[index].time - puts[index - 1].end
            let delay = UploadPolicy.delay(beforeRetry: index)
            let low = delay * (1 - UploadPolicy.jitter) - 0.1
            let high = delay * (1 + UploadPolicy.jitter) + slack
            XCTAssertTrue(gap >= low && gap <= high,
                          "\(name): retry \(index) came " + String(format: "%.2f s after the failed attempt; the backoff allows %.2f...%.2f s: ", gap, low, high)
                              + summary, file: file, line: line)
        }
    }

    /// Waits until `condition` holds, polling every 50 ms.
    func eventually(_ what: String, timeout: TimeInterval, file: StaticString = #filePath, line: UInt = #line,
                    _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return }
            usleep(50_000)
        }
        XCTFail("not within \(timeout) s: \(what)\n--- recsync log ---\n\(fixture.log.suffix(3000))", file: file, line: line)
        throw TestFailure("timed out waiting for: \(what)")
    }
}
