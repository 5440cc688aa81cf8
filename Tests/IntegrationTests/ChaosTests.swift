import Foundation
import XCTest

/// The chaos suite: scripted scenarios, each bounded in time, each with a verdict and its
/// figures (`CHAOS {json}` lines; see ChaosScale). The fast scale runs in `.ci/run`;
/// `Tests/chaos/run` runs the full one and writes the figures for docs/RELIABILITY.md.
final class ChaosTests: ProxiedMountTestCase {
    var writers: [AckWriter] = []

    override func tearDown() {
        for writer in writers where writer.process.isRunning { writer.process.terminate() }
        super.tearDown()
    }

    // MARK: kill -9 during a mixed workload

    /// Files from 0 bytes to ChaosScale.largestFile written by several processes at once; the
    /// daemon is killed at random moments, some files are held open across a kill, some changed
    /// while it is down. Every file ends synced with its current bytes, no content is completed
    /// twice, every acknowledged byte is kept, and no multipart upload is left open.
    func testChaosKillsDuringAMixedWorkloadLoseNothingAndUploadEachContentOnce() throws {
        let started = Date()
        var random = SplitMix64(seed: ChaosScale.seed("kills"))
        let server = try TestServer.moto()
        // Uploads slow enough to be in flight at each kill.
        try mountThroughProxy(server: server, rules: [FaultRule(mode: .slow, method: nil, rate: 48 << 20, delay: 0.05)],
                              config: "[sync]\nsettle_delay = 0\n")
        // Sizes: 0 bytes, the largest, and log-uniform between.
        let sizes = (0..<ChaosScale.files).map { index -> Int in
            if index == 0 { return 0 }
            if index == 1 { return ChaosScale.largestFile }
            return Int(exp(Double.random(in: log(1024.0)...log(Double(ChaosScale.largestFile)), using: &random)))
        }
        var versions: [String: Int] = [:]
        var pending = Array(sizes.enumerated()).map { (name: String(format: "take-%02d.raw", $0.offset), size: $0.element) }
        pending.shuffle(using: &random)
        var changedWhileDown = 0
        var heldAcrossKill = 0
        var modified: Set<String> = []
        var lost: [String] = []

        func startWriters() throws {
            // Up to `writers` at once; one in four holds its file open for a while (across a kill).
            while writers.filter({ $0.process.isRunning }).count < ChaosScale.writers, let next = pending.popLast() {
                let hold = Int.random(in: 0..<4, using: &random) == 0
                if hold { heldAcrossKill += 1 }
                let writer = try AckWriter(fixture: fixture, name: next.name, bytes: next.size,
                                           block: [4096, 65536, 1 << 20].randomElement(using: &random)!,
                                           hold: hold ? 2 : 0, thenBytes: hold ? 256 << 10 : 0, rate: hold ? 512 << 10 : 0,
                                           seed: next.name)
                // Started while the mount is live: it must have its file open before the next kill.
                guard writer.waitUntilOpened() else {
                    pending.insert(next, at: 0)
                    continue
                }
                writers.append(writer)
                versions[next.name] = 1
            }
        }

        var deadMountsCleared = 0
        for round in 1...ChaosScale.kills {
            try startWriters()
            usleep(UInt32(Int.random(in: 200...1500, using: &random)) * 1000)
            // Every other round the dead mount stays for `recsync mount` to clear by itself;
            // in the others it is detached and files are changed while the daemon is down.
            let leaveDead = round % 2 == 0
            try fixture.killDaemon(detach: !leaveDead)
            if leaveDead {
                try fixture.mount()
                deadMountsCleared += 1
                continue
            }
            // While it is down: a file rewritten in place, another appended to. Their writers'
            // acknowledged bytes are checked before the change.
            let closed = versions.keys.filter { name in !writers.contains { $0.name == name && $0.process.isRunning } }.sorted()
            func checkBeforeChange(_ name: String) throws {
                guard !modified.contains(name) else { return }
                modified.insert(name)
                for writer in writers where writer.name == name {
                    let check = try writer.verify(fixture: fixture)
                    if !check.kept { lost.append("\(name): \(check.message)") }
                }
            }
            if let victim = closed.randomElement(using: &random), (try? fileSize(victim)) ?? 0 > 0 {
                try checkBeforeChange(victim)
                let size = try fileSize(victim)
                let count = max(1, min(size, 1 << 20) / 4096)
                XCTAssertTrue(try Shell.run(["dd", "if=/dev/urandom", "of=\(fixture.path(victim))", "bs=4096", "count=\(count)",
                                             "conv=notrunc", "status=none"]).succeeded)
                versions[victim, default: 1] += 1
                changedWhileDown += 1
            }
            if let grown = closed.randomElement(using: &random) {
                try checkBeforeChange(grown)
                XCTAssertTrue(try Shell.run(["sh", "-c", "head -c 100000 /dev/urandom >> \(Shell.quote(fixture.path(grown)))"]).succeeded)
                versions[grown, default: 1] += 1
                changedWhileDown += 1
            }
            try fixture.mount()
        }
        while !pending.isEmpty {
            try startWriters()
            usleep(100_000)
        }
        writers.forEach { $0.wait() }
        let names = versions.keys.sorted()

        for writer in writers where !modified.contains(writer.name) {
            let check = try writer.verify(fixture: fixture)
            if !check.kept { lost.append("\(writer.name): \(check.message)") }
        }
        try assertSyncedByteForByte(names, timeout: ChaosScale.isFull ? 900 : 180)
        let allSynced = Date().timeIntervalSince(started)
        let completions = try completions(bucket: fixture.bucket)
        var twice: [String] = []
        for name in names {
            let key = try key(of: name)
            if completions[key, default: 0] > versions[name, default: 1] {
                twice.append("\(name): \(completions[key]!) completions for \(versions[name]!) version(s)")
            }
        }
        let openUploads = try openUploadsLeft(timeout: 60)
        let bytes = try names.reduce(0) { $0 + (try fileSize($1)) }
        let passed = lost.isEmpty && twice.isEmpty && openUploads == 0
        ChaosScale.report("kill -9 during a mixed workload", passed: passed, [
            "files": names.count, "bytes": bytes, "kills": ChaosScale.kills, "writers": ChaosScale.writers,
            "held_across_kill": heldAcrossKill, "changed_while_down": changedWhileDown,
            "dead_mounts_cleared_by_mount": deadMountsCleared,
            "acknowledged_bytes_lost_files": lost.count, "contents_completed_twice": twice.count,
            "open_uploads_left": openUploads, "seconds_to_all_synced": (allSynced * 10).rounded() / 10,
        ])
        XCTAssertEqual(lost, [], "acknowledged bytes lost")
        XCTAssertEqual(twice, [], "content uploaded twice")
        XCTAssertEqual(openUploads, 0, "multipart uploads left open on the server")
    }

    func fileSize(_ name: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: fixture.path(name))[.size] as? Int) ?? 0
    }

    // MARK: Stops with writers in the middle of a file

    /// SIGTERM, SIGINT, `recsync unmount` and `fusermount3 -u` while programs are writing:
    /// 0 acknowledged bytes lost, and every file synced after the next mount.
    func testChaosStopsWithWritersMidFileLoseNoAcknowledgedByte() throws {
        let server = try TestServer.moto()
        try mountThroughProxy(server: server, config: "[sync]\nsettle_delay = 0\nshutdown_grace = 1\n")
        var figures: [String: Any] = [:]
        var allKept = true
        var names: [String] = []
        for method in ["SIGTERM", "SIGINT", "recsync unmount", "fusermount3 -u"] {
            let tag = method.replacingOccurrences(of: " ", with: "-")
            var round: [AckWriter] = []
            for (index, block) in [4096, 65536, 1 << 20].enumerated() {
                let writer = try AckWriter(fixture: fixture, name: "\(tag)-\(index).raw", bytes: 3 << 20, block: block,
                                           hold: method == "fusermount3 -u" ? 1.5 : 20, thenBytes: 16 << 20,
                                           rate: 2 << 20, seed: tag)
                round.append(writer)
                writers.append(writer)
            }
            try round.forEach { try $0.waitUntilReady() }
            let pid = try XCTUnwrap(fixture.daemonPID)
            switch method {
            case "SIGTERM": kill(pid, SIGTERM)
            case "SIGINT": kill(pid, SIGINT)
            case "recsync unmount": XCTAssertTrue(try fixture.recsync(["unmount", fixture.mountpoint.path]).succeeded)
            default:
                XCTAssertFalse(try Shell.run(["fusermount3", "-u", fixture.mountpoint.path]).succeeded, "refused while busy")
                round.forEach { $0.wait() }
                XCTAssertTrue(try Shell.run(["fusermount3", "-u", fixture.mountpoint.path]).succeeded)
            }
            let deadline = Date().addingTimeInterval(30)
            while MountFixture.isAlive(pid) && Date() < deadline { usleep(20_000) }
            XCTAssertFalse(MountFixture.isAlive(pid), "\(method): the daemon stopped")
            fixture.mounted = false
            round.forEach { $0.wait(timeout: 30) }
            var lostBytes = 0
            for writer in round {
                let check = try writer.verify(fixture: fixture)
                if !check.kept {
                    allKept = false
                    lostBytes += writer.acknowledged
                    XCTFail("\(method): \(writer.name): \(check.message)")
                }
                names.append(writer.name)
            }
            figures[tag] = ["writers": round.count, "acknowledged_bytes": round.reduce(0) { $0 + $1.acknowledged },
                            "acknowledged_bytes_lost": lostBytes]
            try fixture.mount()
        }
        try assertSyncedByteForByte(names, timeout: 120)
        ChaosScale.report("stops with writers mid-file", passed: allKept, figures)
    }

    // MARK: Server faults

    /// 30 % of requests answered 503, then 500; connections reset halfway through bodies; a
    /// server that hangs; the server killed and restarted. Every file ends synced, within what
    /// the retry policy allows.
    func testChaosServerFaultsEndWithEveryFileSyncedWithinTheRetryPolicy() throws {
        var random = SplitMix64(seed: ChaosScale.seed("server faults"))
        let server = try TestServer.moto()
        let faults = [FaultRule(mode: .serviceUnavailable, method: nil, probability: 0.3),
                      FaultRule(mode: .reset, method: "PUT", probability: 0.05)]
        // With 30 % of requests failing, a single PutObject fails 5 attempts in a row with a
        // chance of 0.3^5 (0.24 %): the scenario runs with the policy a flaky server calls for,
        // 10 attempts (0.3^10, 6 in a million), and checks that no file needs more.
        try mountThroughProxy(server: server, rules: faults,
                              config: "[sync]\nsettle_delay = 0\nstall_timeout = 3\nchunk_size = \"5MiB\"\nretry_attempts = 10\n")
        let started = Date()
        var names: [String] = []
        for index in 0..<ChaosScale.files {
            let size = index % 4 == 0 ? Int.random(in: (6 << 20)...(16 << 20), using: &random)
                                      : Int.random(in: 0...(1 << 20), using: &random)
            let name = String(format: "fault-%02d.raw", index)
            try Recording.random(name, bytes: max(size, 1)).write(to: fixture.path(name))
            names.append(name)
        }
        usleep(1_500_000)
        try proxy.setRules([FaultRule(mode: .internalError, method: nil, probability: 0.3),
                            FaultRule(mode: .hang, method: "PUT", count: 2)])
        usleep(1_500_000)
        // The server dies and comes back 3 s later.
        try proxy.setServer(up: false)
        usleep(3_000_000)
        try proxy.setServer(up: true)
        try proxy.setRules(faults)
        try assertSyncedByteForByte(names, timeout: ChaosScale.isFull ? 900 : 240)
        let elapsed = Date().timeIntervalSince(started)

        // Within the policy: no file failed; each stored piece (a PutObject, or a part) was sent
        // once more for each fault it met at most, and no file spent more than the attempts
        // the policy allows.
        let requests = try proxy.requests()
        var overSent: [String] = []
        var pieces: [String: (sent: Int, faulted: Int)] = [:]
        for request in requests where request.isPutObject || request.isUploadPart {
            let piece = request.decodedPath + "#\(request.partNumber ?? 0)"
            // A 200 whose connection the server's death reset may not have reached recsync.
            let faulted = request.fault != "pass" || (request.status ?? 500) >= 500 || request.resetAfterAnswer
            pieces[piece, default: (0, 0)].sent += 1
            if faulted { pieces[piece, default: (0, 0)].faulted += 1 }
        }
        for (piece, count) in pieces where count.sent > count.faulted + 1 {
            overSent.append("\(piece): sent \(count.sent) times, \(count.faulted) faults")
        }
        var maxAttempts = 0
        for name in names {
            maxAttempts = max(maxAttempts, Int(try fixture.attribute("user.sync.attempts", of: name) ?? "0") ?? 0)
        }
        let faulted = requests.filter { $0.fault != "pass" }.count
        let passed = overSent.isEmpty && maxAttempts <= 10
        ChaosScale.report("server faults", passed: passed, [
            "files": names.count, "requests": requests.count, "faulted_requests": faulted,
            "data_requests": pieces.values.reduce(0) { $0 + $1.sent }, "pieces": pieces.count,
            "sent_more_than_faults_plus_one": overSent.count, "seconds_to_all_synced": (elapsed * 10).rounded() / 10,
            "most_attempts_counted_for_a_file": maxAttempts, "retry_attempts": 10,
        ])
        XCTAssertEqual(overSent, [], "a piece was sent more often than its faults allow")
    }

    // MARK: Unmount while busy with the endpoint down

    /// The server unreachable, files written and some still open: `recsync unmount` loses
    /// nothing, and the queue picks up at the next mount.
    func testChaosUnmountWhileBusyWithTheEndpointDownLosesNothing() throws {
        let server = try TestServer.moto()
        try mountThroughProxy(server: server, config: "[sync]\nsettle_delay = 0\nshutdown_grace = 1\n")
        try proxy.setServer(up: false)
        var names: [String] = []
        for index in 0..<4 {
            let name = "offline-\(index).raw"
            try Recording.random(name, bytes: (index + 1) << 20).write(to: fixture.path(name))
            names.append(name)
        }
        let open = try AckWriter(fixture: fixture, name: "still-open.raw", bytes: 6 << 20, hold: 30, thenBytes: 8 << 20,
                                 rate: 1 << 20, seed: "open")
        writers.append(open)
        try open.waitUntilReady()
        let unmount = try fixture.recsync(["unmount", fixture.mountpoint.path])
        fixture.mounted = false
        XCTAssertTrue(unmount.succeeded, unmount.stderr)
        XCTAssertTrue(unmount.stderr.contains("still-open.raw"), unmount.stderr)
        let check = try open.verify(fixture: fixture)
        XCTAssertTrue(check.kept, check.message)
        try proxy.setServer(up: true)
        try fixture.mount()
        try assertSyncedByteForByte(names + ["still-open.raw"], timeout: 60)
        ChaosScale.report("unmount while busy with the endpoint down", passed: check.kept, [
            "files": names.count + 1, "open_at_unmount": 1, "acknowledged_bytes": open.acknowledged,
            "acknowledged_bytes_lost": check.kept ? 0 : open.acknowledged,
        ])
    }
}
