import Foundation
import Logging
import RecsyncStore
import XCTest
@testable import RecsyncCore

final class EventLogTests: XCTestCase {
    var directory: String!
    let logger = Logger(label: "recsync.test.events")

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("recsync-events-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    var logPath: String { directory + "/" + EventLog.fileName }

    /// Writes an executable shell script into the test folder.
    func script(_ name: String, _ body: String) throws -> String {
        let path = directory + "/" + name
        try ("#!/bin/sh\n" + body + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(path, 0o755), 0)
        return path
    }

    func event(_ number: Int, path: String = "take.wav", type: SyncEvent.Kind = .statusChange) -> SyncEvent {
        Self.makeEvent(number, path: path, type: type)
    }

    static func makeEvent(_ number: Int, path: String = "take.wav", type: SyncEvent.Kind = .statusChange) -> SyncEvent {
        SyncEvent(time: Date(timeIntervalSince1970: 1_795_615_387.123), type: type, path: path,
                  key: "anonymous/2026/11/\(path)", status: .pending, previous: .local, attempts: number)
    }

    func fileLines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .dropLast().map(String.init)
    }

    /// Waits until `condition` holds, at most `timeout` seconds.
    func waitUntil(_ timeout: TimeInterval = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition() {
            if Date() > deadline { return false }
            usleep(10_000)
        }
        return true
    }

    // MARK: - JSON

    func testJSONShapeAndKeyNames() throws {
        let full = SyncEvent(time: Date(timeIntervalSince1970: 1_795_615_387.123), type: .syncSuccess, path: "interviews/take1.wav",
                             key: "anonymous/2026/11/take1.wav", status: .synced, previous: .syncing, error: "none",
                             attempts: 2, bytes: 1_048_576)
        let line = full.jsonLine()
        XCTAssertTrue(line.hasSuffix("}\n"))
        XCTAssertEqual(line.filter { $0 == "\n" }.count, 1)
        XCTAssertEqual(line, #"{"attempts":2,"bytes":1048576,"error":"none","key":"anonymous/2026/11/take1.wav","path":"interviews/take1.wav","previous":"syncing","status":"synced","time":"2026-11-25T14:03:07.123Z","type":"syncSuccess"}"# + "\n")
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        XCTAssertEqual(Set(object.keys), ["time", "type", "path", "key", "status", "previous", "error", "attempts", "bytes"])
        XCTAssertEqual(try SyncEvent.decode(line: line), full)

        let minimal = SyncEvent(time: Date(timeIntervalSince1970: 0), type: .syncFailure, path: "a b.wav", status: .failed)
        let minimalObject = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(minimal.jsonLine().utf8)) as? [String: Any])
        XCTAssertEqual(Set(minimalObject.keys), ["time", "type", "path", "status", "attempts"], "absent values are left out")
        XCTAssertEqual(minimalObject["time"] as? String, "1970-01-01T00:00:00.000Z")
        XCTAssertEqual(try SyncEvent.decode(line: minimal.jsonLine()), minimal)

        XCTAssertEqual(SyncEvent.Kind.allCases.map(\.rawValue), ["statusChange", "syncSuccess", "syncFailure"])
        XCTAssertThrowsError(try SyncEvent.decode(line: #"{"attempts":0,"path":"x","status":"gone","time":"2026-11-25T14:03:07.123Z","type":"statusChange"}"#))
    }

    /// The line is written by hand; it must stay the bytes `JSONEncoder` gives, whatever a name holds.
    func testLineIsWhatJSONEncoderWrites() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let controls = String(String.UnicodeScalarView((0..<0x20).compactMap(Unicode.Scalar.init)))
        let names = ["take1.wav", "a/b/c.wav", #"quote " and \ backslash"#, controls, "del \u{7F} c1 \u{85} nbsp \u{A0}",
                     "line\u{2028}para\u{2029}", "café 日本 🎙️.wav", "", "%41 100% take", "\\u0041 not an escape", "</script>"]
        for (index, name) in names.enumerated() {
            let events = [
                SyncEvent(time: Date(timeIntervalSince1970: 1_795_615_387.5 + Double(index)), type: .syncFailure, path: name,
                          key: "user/" + name, status: .pending, previous: .syncing, error: "failed: " + name,
                          attempts: index, bytes: Int64(index) * -7),
                SyncEvent(time: Date(timeIntervalSince1970: Double(index)), type: .statusChange, path: name, status: .local),
            ]
            for event in events {
                let expected = String(decoding: try encoder.encode(event), as: UTF8.self) + "\n"
                XCTAssertEqual(event.jsonLine(), expected, "name \(name.debugDescription)")
                XCTAssertEqual(try SyncEvent.decode(line: event.jsonLine()), event)
            }
        }
    }

    func testTimesAreUTCWithMilliseconds() {
        XCTAssertEqual(EventTime.format(Date(timeIntervalSince1970: 1_795_615_387.1234)), "2026-11-25T14:03:07.123Z")
        XCTAssertEqual(EventTime.format(Date(timeIntervalSince1970: 59.9996)), "1970-01-01T00:01:00.000Z")
        XCTAssertEqual(EventTime.parse("2026-11-25T14:03:07.123Z")?.timeIntervalSince1970 ?? 0, 1_795_615_387.123, accuracy: 0.0005)
        XCTAssertEqual(EventTime.parse("2026-11-25T14:03:07Z")?.timeIntervalSince1970, 1_795_615_387)
        XCTAssertNil(EventTime.parse("2026-11-25 14:03:07"))
        XCTAssertNil(EventTime.parse("2026-11-25T14:03:07.Z"))
    }

    // MARK: - File

    func testLinesAreAppendedToAPrivateFile() throws {
        let log = try EventLog(path: logPath, hook: nil, logger: logger)
        log.emit(event(1))
        log.emit(event(2))
        log.close()
        log.emit(event(3))
        var info = stat()
        XCTAssertEqual(stat(logPath, &info), 0)
        XCTAssertEqual(info.st_mode & 0o777, 0o600)
        XCTAssertEqual(try fileLines(logPath).map { try SyncEvent.decode(line: $0).attempts }, [1, 2], "nothing after close")

        let reopened = try EventLog(path: logPath, hook: nil, logger: logger)
        reopened.emit(event(4))
        reopened.close()
        XCTAssertEqual(try EventReader(path: logPath).lines().map { try SyncEvent.decode(line: $0).attempts }, [1, 2, 4])
    }

    func testConcurrentEmitsWriteWholeLines() throws {
        // Two logs on the same file stand for two writers; lines are long so
        // that any split write would show.
        let first = try EventLog(path: logPath, hook: nil, logger: logger)
        let second = try EventLog(path: logPath, hook: nil, logger: logger)
        let threads = 8, perThread = 250
        DispatchQueue.concurrentPerform(iterations: threads) { thread in
            let log = thread.isMultiple(of: 2) ? first : second
            let name = String(repeating: Character(UnicodeScalar(UInt8(97 + thread))), count: 3000) + ".wav"
            for index in 0..<perThread {
                log.emit(Self.makeEvent(thread * 1000 + index, path: name))
            }
        }
        first.close()
        second.close()
        let lines = try fileLines(logPath)
        XCTAssertEqual(lines.count, threads * perThread)
        var seen = Set<Int>()
        for line in lines {
            let decoded = try SyncEvent.decode(line: line)
            XCTAssertEqual(decoded.path.count, 3004)
            XCTAssertEqual(Set(decoded.path.dropLast(4)).count, 1, "a line mixes two writers")
            seen.insert(decoded.attempts)
        }
        XCTAssertEqual(seen.count, threads * perThread)
    }

    func testRotationKeepsOneOldFile() throws {
        let log = try EventLog(path: logPath, hook: nil, logger: logger, rotationBytes: 2000)
        let lineLength = event(100).jsonLine().utf8.count
        for number in 100..<160 { log.emit(event(number)) }
        log.close()
        let current = try fileLines(logPath)
        let old = try fileLines(log.rotatedPath)
        XCTAssertFalse(old.isEmpty)
        XCTAssertFalse(FileManager.default.fileExists(atPath: log.rotatedPath + ".1"))
        for path in [logPath, log.rotatedPath] {
            let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
            XCTAssertLessThanOrEqual(size, 2000, path)
        }
        XCTAssertEqual(old.count, 2000 / lineLength)
        let numbers = try (old + current).map { try SyncEvent.decode(line: $0).attempts }
        XCTAssertEqual(numbers, Array((160 - numbers.count)..<160), "the newest events, in order")
        XCTAssertEqual(try EventReader(path: logPath).lines(includeRotated: true), old + current)
        XCTAssertEqual(try EventReader(path: logPath).lines(), current)
    }

    func testMissingLogIsAClearError() {
        XCTAssertThrowsError(try EventReader(path: logPath).lines()) { error in
            XCTAssertTrue("\(error)".contains("no event log at \(self.logPath)"), "\(error)")
        }
        XCTAssertThrowsError(try EventLog(path: directory + "/missing/events.jsonl", hook: nil, logger: logger)) { error in
            XCTAssertTrue("\(error)".contains("cannot open the event log"), "\(error)")
        }
    }

    // MARK: - Hooks

    func testHookGetsEventVariablesAndNoCredentials() throws {
        let dump = directory + "/env.txt"
        let hookScript = try script("dump-env.sh", #"env > "$1""#)
        let environment = ["PATH": "/usr/bin:/bin", "HOME": "/home/rec", "KEEP_ME": "yes",
                           "AWS_ACCESS_KEY_ID": "AKIAEXAMPLEKEYID", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI-secret",
                           "AWS_SESSION_TOKEN": "session-token-value", "AWS_PROFILE": "prod", "aws_secret_access_key": "lower-secret"]
        let hook = try EventHook(arguments: [hookScript, dump], mountpoint: "/srv/Recordings", environment: environment, output: .discard)
        let log = try EventLog(path: logPath, hook: hook, logger: logger)
        log.emit(SyncEvent(time: Date(timeIntervalSince1970: 1_795_615_387.123), type: .syncFailure, path: "interviews/take1.wav",
                           key: "alice/2026/11/take1.wav", status: .pending, previous: .syncing, error: "connection reset",
                           attempts: 3))
        log.close(timeout: 10)

        let text = try String(contentsOfFile: dump, encoding: .utf8)
        var variables: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            variables[String(line[..<equals])] = String(line[line.index(after: equals)...])
        }
        XCTAssertEqual(variables["RECSYNC_EVENT"], "syncFailure")
        XCTAssertEqual(variables["RECSYNC_PATH"], "interviews/take1.wav")
        XCTAssertEqual(variables["RECSYNC_KEY"], "alice/2026/11/take1.wav")
        XCTAssertEqual(variables["RECSYNC_STATUS"], "pending")
        XCTAssertEqual(variables["RECSYNC_PREVIOUS_STATUS"], "syncing")
        XCTAssertEqual(variables["RECSYNC_ERROR"], "connection reset")
        XCTAssertEqual(variables["RECSYNC_ATTEMPTS"], "3")
        XCTAssertEqual(variables["RECSYNC_TIME"], "2026-11-25T14:03:07.123Z")
        XCTAssertEqual(variables["RECSYNC_MOUNTPOINT"], "/srv/Recordings")
        XCTAssertEqual(variables["KEEP_ME"], "yes", "the rest of the daemon's environment is kept")
        XCTAssertEqual(variables["HOME"], "/home/rec")
        XCTAssertNil(variables["AWS_SECRET_ACCESS_KEY"])
        XCTAssertNil(variables["AWS_ACCESS_KEY_ID"])
        XCTAssertFalse(variables.keys.contains { $0.uppercased().hasPrefix("AWS_") }, "\(variables.keys.sorted())")
        for secret in ["AKIAEXAMPLEKEYID", "wJalrXUtnFEMI-secret", "session-token-value", "lower-secret"] {
            XCTAssertFalse(text.contains(secret), "credential \(secret) reached the hook")
        }
    }

    func testHookValuesArePassedVerbatimWithoutAShell() throws {
        let out = directory + "/out"
        let marker = directory + "/pwned"
        let hookScript = try script("verbatim.sh", #"""
        printf '%s' "$RECSYNC_PATH" > "$1.path"
        printf '%s' "$RECSYNC_ERROR" > "$1.error"
        printf '%s' "$2" > "$1.argument"
        """#)
        let nasty = "it's \"quoted\" $(touch \(marker)) `touch \(marker)`; rm -rf $HOME *.wav"
        let argument = "--label=a b \"c\" 'd' $(touch \(marker))"
        let hook = try EventHook(arguments: [hookScript, out, argument], mountpoint: "/m", environment: ["PATH": "/usr/bin:/bin"],
                                 output: .discard)
        XCTAssertEqual(hook.run(SyncEvent(type: .syncFailure, path: nasty + ".wav", status: .failed, error: nasty), logger: logger),
                       .exited(0))
        XCTAssertEqual(try String(contentsOfFile: out + ".path", encoding: .utf8), nasty + ".wav")
        XCTAssertEqual(try String(contentsOfFile: out + ".error", encoding: .utf8), nasty)
        XCTAssertEqual(try String(contentsOfFile: out + ".argument", encoding: .utf8), argument)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "a value was run by a shell")
    }

    func testHookIsFoundInPathAndExitStatusIsReported() throws {
        let bin = directory + "/bin"
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        let failing = try script("bin/recsync-test-hook", "exit 3")
        let hook = try EventHook(arguments: ["recsync-test-hook"], mountpoint: "/m", environment: ["PATH": "/nonexistent:" + bin])
        XCTAssertEqual(hook.executable, failing)
        XCTAssertEqual(hook.run(event(1), logger: logger), .exited(3))

        XCTAssertThrowsError(try EventHook(arguments: ["no-such-hook-program"], mountpoint: "/m", environment: ["PATH": bin])) { error in
            XCTAssertTrue("\(error)".contains("was not found in PATH"), "\(error)")
        }
        XCTAssertThrowsError(try EventHook(arguments: ["bin/recsync-test-hook"], mountpoint: "/m")) { error in
            XCTAssertTrue("\(error)".contains("relative path"), "\(error)")
        }
        XCTAssertThrowsError(try EventHook(arguments: [directory + "/none"], mountpoint: "/m")) { error in
            XCTAssertTrue("\(error)".contains("is not an executable file"), "\(error)")
        }
        XCTAssertThrowsError(try EventHook(arguments: [], mountpoint: "/m"))
    }

    func testHangingHookIsKilledAfterItsTimeout() throws {
        let pidFile = directory + "/pid"
        // Ignores SIGTERM (and so does the sleep it starts): only SIGKILL ends it.
        let hookScript = try script("hang.sh", """
        trap '' TERM
        echo $$ > "$1"
        while :; do sleep 1; done
        """)
        let hook = try EventHook(arguments: [hookScript, pidFile], mountpoint: "/m", environment: ["PATH": "/usr/bin:/bin"],
                                 timeout: 0.5, killGrace: 0.3, output: .discard)
        let start = Date()
        XCTAssertEqual(hook.run(event(1), logger: logger), .timedOut)
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        let pid = try XCTUnwrap(pid_t(String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertEqual(kill(pid, 0), -1, "the hook was killed and reaped")
        XCTAssertEqual(errno, ESRCH)
    }

    func testEmitDoesNotWaitForHooksAndCloseStopsARunningHook() throws {
        let pidFile = directory + "/pid"
        let hookScript = try script("slow.sh", """
        echo $$ > "$1"
        sleep 30
        """)
        let hook = try EventHook(arguments: [hookScript, pidFile], mountpoint: "/m", environment: ["PATH": "/usr/bin:/bin"],
                                 timeout: 60, killGrace: 0.5, output: .discard)
        let log = try EventLog(path: logPath, hook: hook, logger: logger)
        let start = Date()
        for number in 1...20 { log.emit(event(number)) }
        XCTAssertLessThan(Date().timeIntervalSince(start), 1, "emit waited for a hook")
        XCTAssertTrue(waitUntil { FileManager.default.fileExists(atPath: pidFile) })
        let closing = Date()
        log.close(timeout: 0.3)
        XCTAssertLessThan(Date().timeIntervalSince(closing), 5)
        let pid = try XCTUnwrap(pid_t(String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertTrue(waitUntil(5) { kill(pid, 0) == -1 }, "the running hook was stopped")
        XCTAssertEqual(try fileLines(logPath).count, 20, "every event is in the file")
    }

    func testFullHookBacklogDropsTheOldest() throws {
        let record = directory + "/record"
        let hookScript = try script("record.sh", """
        [ "$RECSYNC_ATTEMPTS" = 1 ] && sleep 0.5
        echo "$RECSYNC_ATTEMPTS" >> "$1"
        """)
        let hook = try EventHook(arguments: [hookScript, record], mountpoint: "/m", environment: ["PATH": "/usr/bin:/bin"],
                                 output: .discard)
        let log = try EventLog(path: logPath, hook: hook, logger: logger, hookBacklogLimit: 5)
        for number in 1...50 { log.emit(event(number)) }
        log.close(timeout: 20)
        let ran = try fileLines(record).compactMap { Int($0) }
        XCTAssertEqual(Array(ran.suffix(5)), [46, 47, 48, 49, 50], "\(ran)")
        XCTAssertLessThanOrEqual(ran.count, 6, "\(ran)")
        XCTAssertEqual(try fileLines(logPath).count, 50, "the file has every event")
    }

    // MARK: - Reading

    func testFollowSeesNewLinesAndSurvivesRotation() throws {
        let log = try EventLog(path: logPath, hook: nil, logger: logger, rotationBytes: 1500)
        for number in 1...3 { log.emit(event(number)) }

        final class Collected: @unchecked Sendable {
            // Guarded by `lock`.
            let lock = NSLock()
            var lines: [String] = []
            var stop = false
            var error: (any Error)?
            var done = false
            func with<T>(_ body: (Collected) -> T) -> T { lock.lock(); defer { lock.unlock() }; return body(self) }
        }
        let collected = Collected()
        let path = logPath
        let thread = Thread {
            do {
                try EventReader(path: path).follow(pollInterval: 0.02, shouldStop: { collected.with { $0.stop } }) { line in
                    collected.with { $0.lines.append(line) }
                }
            } catch {
                collected.with { $0.error = error }
            }
            collected.with { $0.done = true }
        }
        thread.start()
        XCTAssertTrue(waitUntil { collected.with { $0.lines.count } == 3 }, "existing lines")
        for number in 4...40 {
            log.emit(event(number))
            usleep(10_000)
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: log.rotatedPath), "the log rotated")
        XCTAssertTrue(waitUntil { collected.with { $0.lines.count } >= 40 }, "\(collected.with { $0.lines.count }) lines")
        collected.with { $0.stop = true }
        XCTAssertTrue(waitUntil { collected.with { $0.done } })
        log.close()
        XCTAssertNil(collected.with { $0.error })
        let numbers = try collected.with { $0.lines }.map { try SyncEvent.decode(line: $0).attempts }
        XCTAssertEqual(numbers, Array(1...40))
    }

    func testReaderHoldsBackAnUnfinishedLine() throws {
        try Data("{\"a\":1}\n{\"b\":".utf8).write(to: URL(fileURLWithPath: logPath))
        XCTAssertEqual(try EventReader(path: logPath).lines(), ["{\"a\":1}"])
    }
}
