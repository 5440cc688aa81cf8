import Foundation
import XCTest

/// A small seeded generator, so that a failing run can be repeated with RECSYNC_CRASH_SEED.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// kill -9 of the daemon while uploads are in flight, ten times in a row: nothing is lost, every
/// file ends synced with its bytes, and no file is uploaded successfully twice.
final class CrashTests: ProxiedMountTestCase {
    func testTenKillsDuringUploadsLoseNothingAndUploadEachFileOnce() throws {
        let started = Date()
        let seed = ProcessInfo.processInfo.environment["RECSYNC_CRASH_SEED"].flatMap(UInt64.init) ?? UInt64.random(in: 1...UInt64.max >> 1)
        var random = SplitMix64(seed: seed)
        print("CrashTests seed \(seed) (set RECSYNC_CRASH_SEED=\(seed) to repeat)")

        // A slow server (1 MiB/s per upload, answers held 0.3 s), so that uploads are in flight,
        // and answered-but-not-yet-recorded, when the daemon dies.
        let server = try TestServer.moto()
        try mountThroughProxy(server: server, rules: [FaultRule(mode: .slow, rate: 1 << 20, delay: 0.3)])

        // 30 recordings, 1 KiB to 8 MiB (log-uniform, both ends included); every fifth is a sox WAV.
        let source = fixture.root.appendingPathComponent("source")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        var names: [String] = []
        for index in 0..<30 {
            let size = index == 0 ? 1 << 10 : index == 1 ? 8 << 20
                : Int(exp(Double.random(in: log(1024.0)...log(8.0 * 1024 * 1024), using: &random)))
            let recording: Recording = index % 5 == 4
                ? .wav(String(format: "crash-%02d.wav", index), seconds: max(0.01, Double(size) / 176_400))
                : .random(String(format: "crash-%02d.raw", index), bytes: size)
            try recording.write(to: source.appendingPathComponent(recording.name).path)
            let copy = try Shell.run(["cp", source.appendingPathComponent(recording.name).path, fixture.path(recording.name)])
            XCTAssertTrue(copy.succeeded, copy.stderr)
            names.append(recording.name)
        }
        let written = Date().timeIntervalSince(started)

        // Ten crashes at random moments.
        var pids: Set<pid_t> = []
        var kills: [Double] = []
        for _ in 1...10 {
            usleep(UInt32(Int.random(in: 50...1500, using: &random)) * 1000)
            pids.insert(try XCTUnwrap(fixture.daemonPID))
            kills.append(Date().timeIntervalSince1970)
            try fixture.killDaemon()
            try fixture.mount()
        }
        XCTAssertEqual(pids.count, 10, "each round killed a new daemon")
        let crashed = Date().timeIntervalSince(started)

        // Everything arrives, byte for byte, under the key it was queued with.
        let deadline = Date().addingTimeInterval(100)
        for name in names { try waitUntilSynced(name, deadline: deadline) }
        var keys: [String: String] = [:]
        for name in names {
            let key = try key(of: name)
            keys[name] = key
            XCTAssertTrue(try fixture.object(key) == Data(contentsOf: source.appendingPathComponent(name)),
                          "\(name): the object differs from the file")
        }
        XCTAssertEqual(Set(try fixture.keys()), Set(keys.values), "one object per file, no stray keys")

        // No file was stored twice: an upload the server confirmed just before a crash is
        // recognised after the restart.
        let requests = try proxy.requests()
        var twice: [String] = []
        for (name, key) in keys.sorted(by: { $0.key < $1.key }) {
            // A whole object is stored by a PutObject, or by a CompleteMultipartUpload (POST ?uploadId=)
            // for files above the multipart threshold.
            let puts = requests.filter {
                $0.decodedPath == "/\(fixture.bucket)/\(key)"
                    && (($0.method == "PUT" && $0.query.isEmpty) || ($0.method == "POST" && $0.query.contains("uploadId=")))
            }
            let stored = puts.filter { $0.upstreamStatus == 200 }.count
            XCTAssertGreaterThanOrEqual(stored, 1, "\(name): no successful PutObject or CompleteMultipartUpload in the proxy's log")
            if stored > 1 {
                let timeline = puts.map { String(format: "PUT %.3f-%.3f upstream %d, ", $0.time, $0.end, $0.upstreamStatus ?? 0)
                    + "client \($0.status.map(String.init) ?? "none")" }
                let lines = fixture.log.split(separator: "\n").filter { $0.contains("path=\(name)") }.suffix(12)
                twice.append("\(name): \(stored) of \(puts.count) PUTs stored\n  " + timeline.joined(separator: "\n  ")
                             + "\n  " + lines.joined(separator: "\n  "))
            }
        }
        XCTAssertTrue(twice.isEmpty, "uploaded successfully more than once (kills at "
                      + kills.map { String(format: "%.3f", $0) }.joined(separator: ", ") + "):\n" + twice.joined(separator: "\n"))
        let puts = requests.filter { $0.method == "PUT" && $0.query.isEmpty }
        // Stored, but the daemon died before the answer reached it: the case a restart must recognise.
        let unanswered = puts.filter { $0.upstreamStatus == 200 && $0.status == nil }.count
        print(String(format: "CrashTests: files written after %.1f s, 10 kills done after %.1f s, all synced after %.1f s; "
                     + "%d PUTs: %d stored (%d of them stored but unanswered when the daemon died), %d cut off; %d HEADs",
                     written, crashed, Date().timeIntervalSince(started), puts.count,
                     puts.filter { $0.upstreamStatus == 200 }.count, unanswered, puts.filter { $0.upstreamStatus == nil }.count,
                     requests.filter { $0.method == "HEAD" }.count))
    }
}
