import Foundation
import XCTest

/// How hard the chaos scenarios push. `.ci/run` runs the fast scale; `Tests/chaos/run` sets
/// RECSYNC_CHAOS=full for the numbers the reliability report quotes (docs/RELIABILITY.md).
enum ChaosScale {
    static var isFull: Bool { ProcessInfo.processInfo.environment["RECSYNC_CHAOS"] == "full" }
    static var name: String { isFull ? "full" : "fast" }
    /// kill -9 rounds during the mixed workload.
    static var kills: Int { isFull ? 20 : 4 }
    /// Files in the mixed workload and in the server-fault scenario.
    static var files: Int { isFull ? 50 : 12 }
    /// The largest file of the mixed workload.
    static var largestFile: Int { isFull ? 60 << 20 : 12 << 20 }
    /// Writer processes at once.
    static var writers: Int { isFull ? 4 : 2 }
    /// How long the link stays down while recording.
    static var offlineSeconds: Double { isFull ? 600 : 6 }
    /// A fixed seed from RECSYNC_CHAOS_SEED repeats a run; otherwise a new one, printed.
    static func seed(_ test: String) -> UInt64 {
        let seed = ProcessInfo.processInfo.environment["RECSYNC_CHAOS_SEED"].flatMap(UInt64.init)
            ?? UInt64.random(in: 1...UInt64.max >> 1)
        print("\(test): chaos seed \(seed) (RECSYNC_CHAOS_SEED=\(seed) repeats it)")
        return seed
    }

    /// Prints one scenario's figures as `CHAOS {json}` and appends them to the file named by
    /// RECSYNC_CHAOS_RESULTS (what `Tests/chaos/run` collects).
    static func report(_ scenario: String, passed: Bool, _ figures: [String: Any]) {
        var entry = figures
        entry["scenario"] = scenario
        entry["scale"] = name
        entry["passed"] = passed
        guard let data = try? JSONSerialization.data(withJSONObject: entry, options: [.sortedKeys]) else { return }
        let line = String(decoding: data, as: UTF8.self)
        print("CHAOS \(line)")
        if let path = ProcessInfo.processInfo.environment["RECSYNC_CHAOS_RESULTS"],
           let handle = FileHandle(forWritingAtPath: path) ?? {
               FileManager.default.createFile(atPath: path, contents: nil)
               return FileHandle(forWritingAtPath: path)
           }() {
            handle.seekToEndOfFile()
            handle.write(Data((line + "\n").utf8))
            try? handle.close()
        }
    }
}

/// A program writing a file through the mount with `Tests/tools/ackwriter.py`, which records
/// every byte a write() acknowledged, so that a loss shows.
final class AckWriter {
    let name: String
    let acked: String
    let process: Process

    /// Starts writing `bytes` (then holding the file open `hold` seconds, writing `thenBytes`
    /// more at `rate` bytes/s). Does not wait.
    init(fixture: MountFixture, name: String, bytes: Int, block: Int = 65536, hold: Double = 0, thenBytes: Int = 0,
         rate: Int = 0, seed: String) throws {
        self.name = name
        acked = fixture.root.appendingPathComponent("acked-\(UUID().uuidString.prefix(8))").path
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", StopTests.ackWriter, "write", fixture.path(name), "--acked", acked,
                             "--block", "\(block)", "--bytes", "\(bytes)", "--hold", "\(hold)",
                             "--then-bytes", "\(thenBytes)", "--rate", "\(rate)", "--seed", seed]
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    var acknowledged: Int {
        Int((try? String(contentsOfFile: acked, encoding: .utf8))?.trimmingCharacters(in: .whitespaces) ?? "") ?? 0
    }

    var isReady: Bool { FileManager.default.fileExists(atPath: acked + ".ready") }

    /// Waits until the writer opened its file (it records 0 acknowledged bytes right after the
    /// open). False when it could not: the mount went away before it got there.
    func waitUntilOpened(timeout: TimeInterval = 30) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: acked) { return true }
            if !process.isRunning { return FileManager.default.fileExists(atPath: acked) }
            usleep(10_000)
        }
        return false
    }

    func waitUntilReady(timeout: TimeInterval = 60) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !isReady {
            if !process.isRunning && !isReady { throw TestFailure("the writer of \(name) stopped before it was ready") }
            if Date() > deadline { throw TestFailure("the writer of \(name) did not get ready") }
            usleep(20_000)
        }
    }

    func wait(timeout: TimeInterval = 120) {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { process.terminate() }
    }

    /// Whether the file holds every acknowledged byte as written (checked with the writer's own
    /// pattern); the message says what differs.
    func verify(fixture: MountFixture) throws -> (kept: Bool, message: String) {
        let result = try Shell.run(["python3", StopTests.ackWriter, "verify", fixture.path(name), "--acked", acked])
        return (result.succeeded, result.succeeded ? result.stdout : result.stderr)
    }
}

extension ProxiedMountTestCase {
    /// Successful completions of an object (PutObject 2xx, CompleteMultipartUpload 2xx) per key.
    func completions(bucket: String) throws -> [String: Int] {
        var result: [String: Int] = [:]
        for request in try proxy.requests() where (request.status ?? 0) / 100 == 2
            && (request.isPutObject || request.isCompleteMultipartUpload) {
            let prefix = "/\(bucket)/"
            guard request.decodedPath.hasPrefix(prefix) else { continue }
            result[String(request.decodedPath.dropFirst(prefix.count)), default: 0] += 1
        }
        return result
    }

    /// Waits until the server lists no open multipart upload (the daemon aborts the ones it
    /// abandoned when it is idle). Returns how many are left.
    func openUploadsLeft(timeout: TimeInterval) throws -> Int {
        let deadline = Date().addingTimeInterval(timeout)
        var left = 0
        repeat {
            left = try fixture.client().listMultipartUploads(bucket: fixture.bucket, prefix: "").count
            if left == 0 { return 0 }
            usleep(200_000)
        } while Date() < deadline
        return left
    }
}
