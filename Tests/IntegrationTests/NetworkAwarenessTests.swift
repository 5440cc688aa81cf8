import Foundation
import XCTest

/// Network awareness on a real network: the daemon runs in a network namespace of the test's
/// own, reaching the S3 server (moto on 127.0.0.1, through a fault proxy that listens in a second
/// namespace) over one veth link the test takes down, brings up, marks metered and shapes with tc.
final class NetworkAwarenessTests: ProxiedMountTestCase {
    var network: NetworkNamespaces?

    override func tearDown() {
        removeServerData()
        super.tearDown()
        network?.remove()
        network = nil
    }

    /// Namespaces, a proxy listening on the server side, and a mount whose daemon runs on the
    /// client side with `config` plus the namespace's sysfs.
    func mountInNamespace(_ config: String = "", mount: Bool = true) throws {
        let namespaces = try NetworkNamespaces()
        network = namespaces
        let server = try TestServer.moto()
        proxy = try FaultProxy(upstream: server.endpoint, listenHost: namespaces.serverAddress, netns: namespaces.server)
        fixture = try MountFixture(server: server)
        fixture.mountEndpoint = proxy.endpoint
        fixture.launcher = namespaces.clientLauncher
        fixture.extraArguments.append("--allow-plain-http")  // the server's address is in the test's own namespace
        try fixture.useConfig("""
            \(config)
            [network]
            sysfs_root = "\(namespaces.sysfs.path)"
            """)
        if mount { try fixture.mount() }
    }

    func summary() throws -> [String: Any] {
        let result = try Shell.run(["getfattr", "--only-values", "--absolute-names", "-n", "user.sync.summary", fixture.mountpoint.path])
        XCTAssertTrue(result.succeeded, "getfattr user.sync.summary on the mount root: \(result.stderr)")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], result.stdout)
    }

    /// Polls `condition` every 50 ms for up to `timeout` seconds.
    func eventually(_ what: String, timeout: TimeInterval, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return }
            usleep(50_000)
        }
        XCTFail("timed out after \(timeout) s: \(what)\n--- log ---\n\(fixture.log.suffix(3000))")
        throw TestFailure(what)
    }

    // MARK: Link down in the middle of a multipart upload

    func testLinkDownMidMultipartKeepsTheFilePendingAndTheUploadResumesWhenItReturns() throws {
        try mountInNamespace(Self.multipartConfig)
        let namespaces = try XCTUnwrap(network)
        // 40 MiB at 40 Mbit/s: 8 parts over about 8 s, so the link can go down halfway.
        try namespaces.shapeUploads(rate: "40mbit")
        try write([.random("session.wav", bytes: 40 << 20)])
        let key = try key(of: "session.wav")
        try eventually("two parts are on the server", timeout: 30) {
            try proxy.requests(bucket: fixture.bucket, key: key).filter { $0.isUploadPart && $0.status == 200 }.count >= 2
        }
        // A second more, so that parts confirmed well before the link goes down are known to the
        // daemon too (an answer still on its way when the link goes down is lost with it).
        usleep(1_000_000)
        let downAt = Date()
        try namespaces.linkDown()

        try eventually("the file is pending again", timeout: 5) { try fixture.status("session.wav") == "pending" }
        XCTAssertLessThan(Date().timeIntervalSince(downAt), 3, "the daemon noticed the link going down at once")
        XCTAssertTrue(fixture.log.contains("network changed: offline"), "a kernel event told the monitor:\n\(fixture.log.suffix(2000))")
        XCTAssertEqual(try fixture.attribute("user.sync.error", of: "session.wav"), "paused: offline")
        let offline = try summary()
        XCTAssertEqual(offline["paused"] as? String, "offline")
        XCTAssertEqual((offline["network"] as? [String: Any])?["online"] as? Bool, false)
        let confirmedBefore = Set(try proxy.requests(bucket: fixture.bucket, key: key)
            .filter { $0.isUploadPart && $0.status == 200 && $0.end < downAt.timeIntervalSince1970 - 0.5 }.compactMap(\.partNumber))
        // Offline for a while: never failed, no attempt counted.
        let quiet = Date().addingTimeInterval(4)
        while Date() < quiet {
            XCTAssertEqual(try fixture.status("session.wav"), "pending")
            usleep(200_000)
        }
        XCTAssertEqual(try fixture.attribute("user.sync.attempts", of: "session.wav"), "0")

        try namespaces.linkUp()
        let upAt = Date()
        try eventually("the upload starts again", timeout: 5) {
            try proxy.requests(bucket: fixture.bucket, key: key).contains { $0.time > upAt.timeIntervalSince1970 }
                || fixture.status("session.wav") != "pending"
        }
        XCTAssertLessThan(Date().timeIntervalSince(upAt), 2.5, "uploads start within 2 s of the network returning")
        try assertSyncedByteForByte(["session.wav"], timeout: 60)
        XCTAssertEqual(try fixture.attribute("user.sync.attempts", of: "session.wav"), "0")

        let requests = try proxy.requests(bucket: fixture.bucket, key: key)
        XCTAssertEqual(requests.filter(\.isCreateMultipartUpload).count, 1, "resumed, not restarted:\n  \(timeline(key))")
        let afterUp = requests.filter { $0.isUploadPart && $0.time > upAt.timeIntervalSince1970 }.compactMap(\.partNumber)
        XCTAssertFalse(confirmedBefore.isEmpty)
        XCTAssertTrue(confirmedBefore.isDisjoint(with: afterUp), "parts confirmed before the link went down were not sent again:\n  \(timeline(key))")
        let object = try fixture.object(key)
        XCTAssertEqual(try MD5.hex(object), try MD5.hex(ofFile: fixture.path("session.wav")))
    }

    // MARK: Chaos: offline while recording

    /// The link down for ChaosScale.offlineSeconds (10 minutes at the full scale) while a recorder
    /// keeps writing files: nothing ends `failed`, no attempt is counted, and uploads start within
    /// 2 s of the link coming back.
    func testChaosOfflineWhileRecordingNothingFailsAndUploadsResumeWithinTwoSeconds() throws {
        try mountInNamespace("[sync]\nsettle_delay = 0\n")
        let namespaces = try XCTUnwrap(network)
        try write([.random("before.raw", bytes: 1 << 20)])
        try assertSyncedByteForByte(["before.raw"])
        try namespaces.linkDown()
        let downAt = Date()
        var names: [String] = []
        var failedSeen = 0
        var attemptsSeen = 0
        // A take every few seconds while offline (at least three).
        let interval = max(1.0, ChaosScale.offlineSeconds / 10)
        while Date().timeIntervalSince(downAt) < ChaosScale.offlineSeconds || names.count < 3 {
            let name = String(format: "offline-%03d.raw", names.count)
            try write([.random(name, bytes: Int.random(in: (64 << 10)...(12 << 20)))])
            names.append(name)
            for earlier in names {
                if try fixture.status(earlier) == "failed" { failedSeen += 1 }
                attemptsSeen = max(attemptsSeen, Int(try fixture.attribute("user.sync.attempts", of: earlier) ?? "0") ?? 0)
            }
            usleep(UInt32(interval * 1_000_000))
        }
        let offlineFor = Date().timeIntervalSince(downAt)
        XCTAssertEqual(failedSeen, 0, "nothing fails while offline")
        XCTAssertEqual(attemptsSeen, 0, "no attempt is counted while offline")
        XCTAssertTrue(names.allSatisfy { (try? fixture.status($0)) == "pending" })

        try namespaces.linkUp()
        let upAt = Date()
        try eventually("an upload starts again", timeout: 10) {
            try proxy.requests().contains { $0.time > upAt.timeIntervalSince1970 && $0.method == "PUT" }
        }
        let resumedAfter = Date().timeIntervalSince(upAt)
        try assertSyncedByteForByte(names, timeout: 120)
        let passed = failedSeen == 0 && attemptsSeen == 0 && resumedAfter < 2.5
        ChaosScale.report("offline while recording", passed: passed, [
            "offline_seconds": (offlineFor * 10).rounded() / 10, "files_recorded_offline": names.count,
            "failed_seen": failedSeen, "attempts_counted": attemptsSeen,
            "seconds_to_first_upload_after_link_up": (resumedAfter * 100).rounded() / 100,
        ])
        XCTAssertLessThan(resumedAfter, 2.5, "uploads start within 2 s of the link coming back")
    }

    // MARK: Metered connections

    func testNothingUploadsOnAMeteredInterfaceUntilAllowedOrForced() throws {
        try mountInNamespace("[sync]\nsync_on_metered_connection = false\n", mount: false)
        let namespaces = try XCTUnwrap(network)
        try fixture.useConfig("""
            [network]
            sysfs_root = "\(namespaces.sysfs.path)"
            metered_interfaces = ["\(namespaces.clientLink)"]
            """)
        try fixture.mount()
        try write([.wav("a.wav", seconds: 1), .wav("b.wav", seconds: 1)])
        let keyA = try key(of: "a.wav")
        Thread.sleep(forTimeInterval: 3)
        XCTAssertEqual(try fixture.status("a.wav"), "pending")
        XCTAssertEqual(try fixture.attribute("user.sync.error", of: "a.wav"), "paused: metered connection")
        XCTAssertTrue(try proxy.requests().filter { $0.method == "PUT" }.isEmpty, "nothing was uploaded: \(proxy.logText)")
        let paused = try summary()
        XCTAssertEqual(paused["paused"] as? String, "metered connection")
        let network = try XCTUnwrap(paused["network"] as? [String: Any])
        XCTAssertEqual(network["interface"] as? String, namespaces.clientLink)
        XCTAssertEqual(network["metered"] as? Bool, true)
        XCTAssertEqual(network["metered_by"] as? String, "config")
        XCTAssertEqual((paused["counts"] as? [String: Int])?["pending"], 2)

        // A plain sync-now respects the rule and says why the file waits.
        let plain = try fixture.recsync(["sync-now", fixture.path("a.wav")])
        XCTAssertTrue(plain.succeeded, plain.stderr)
        XCTAssertTrue(plain.stdout.contains("metered connection"), plain.stdout)
        Thread.sleep(forTimeInterval: 2)
        XCTAssertEqual(try fixture.status("a.wav"), "pending")
        let status = try fixture.recsync(["status", fixture.mountpoint.path])
        XCTAssertTrue(status.stdout.contains("paused"), status.stdout)

        // --force gets that one file through.
        let forced = try fixture.recsync(["sync-now", "--force", "--wait", fixture.path("a.wav")])
        XCTAssertTrue(forced.succeeded, forced.stdout + forced.stderr)
        XCTAssertEqual(try fixture.status("a.wav"), "synced")
        XCTAssertEqual(try fixture.object(keyA), try fixture.backingContents("a.wav"))
        Thread.sleep(forTimeInterval: 1)
        XCTAssertEqual(try fixture.status("b.wav"), "pending", "--force was for a.wav only")

        // Allowing metered connections lets the rest go.
        try fixture.unmount()
        try fixture.useConfig("""
            [sync]
            sync_on_metered_connection = true
            [network]
            sysfs_root = "\(namespaces.sysfs.path)"
            metered_interfaces = ["\(namespaces.clientLink)"]
            """)
        try fixture.mount()
        try assertSyncedByteForByte(["b.wav"], timeout: 30)
    }

    // MARK: Bandwidth

    /// The rate of the upload of `key` as the server side saw it: bytes over the time from the
    /// first request's start to the last one's end.
    func serverSideRate(_ key: String) throws -> Double {
        let parts = try proxy.requests(bucket: fixture.bucket, key: key).filter { $0.isUploadPart || $0.isPutObject }
        let bytes = Double(parts.map(\.requestBytes).reduce(0, +))
        let start = try XCTUnwrap(parts.map(\.time).min())
        let end = try XCTUnwrap(parts.map(\.end).max())
        return bytes / (end - start)
    }

    func testMaxUploadRateIsRespectedOnAShapedLink() throws {
        let cap = 1 << 20  // 1 MiB/s
        try mountInNamespace("[sync]\nchunk_size = \"5MiB\"\nmax_upload_rate = \(cap)\n", mount: false)
        let namespaces = try XCTUnwrap(network)
        // The link carries 3 MB/s: the cap, not the link, must set the pace.
        try namespaces.shapeUploads(rate: "24mbit")
        try fixture.mount()
        try write([.random("capped.wav", bytes: 8 << 20)])
        try assertSyncedByteForByte(["capped.wav"], timeout: 60)
        let capped = try serverSideRate(try key(of: "capped.wav"))
        print("max_upload_rate \(cap) B/s on a 24 Mbit/s link: \(Int(capped)) B/s (\(String(format: "%.3f", capped / Double(cap)))x the cap)")
        XCTAssertEqual(capped / Double(cap), 1, accuracy: 0.10, "within 10 % of max_upload_rate")

        // Without the cap the same link runs faster: the shaping is real and the cap was what held.
        try fixture.unmount()
        try fixture.useConfig("[sync]\nchunk_size = \"5MiB\"\n[network]\nsysfs_root = \"\(namespaces.sysfs.path)\"\n")
        try fixture.mount()
        try write([.random("free.wav", bytes: 8 << 20)])
        try assertSyncedByteForByte(["free.wav"], timeout: 60)
        let free = try serverSideRate(try key(of: "free.wav"))
        print("no cap on a 24 Mbit/s link: \(Int(free)) B/s")
        XCTAssertGreaterThan(free, 1.5 * Double(cap))
        XCTAssertLessThan(free, 3.3e6, "tbf holds the link to 3 MB/s")
    }
}
