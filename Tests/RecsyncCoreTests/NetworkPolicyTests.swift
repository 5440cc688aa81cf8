import Foundation
import Logging
import RecsyncS3
import RecsyncStore
import RecsyncFS
import XCTest
@testable import RecsyncCore

/// The uploader under the network monitor and the policy, with a fake machine (sysfs, procfs,
/// NetworkManager), rtnetlink played by a manual event source, and the in-memory S3.
final class NetworkPolicyTests: EngineTestCase {
    var machine: FakeMachine!
    var runner: FakeRunner!
    var events: ManualEventSource!
    var monitor: NetworkMonitor?

    override func setUpWithError() throws {
        try super.setUpWithError()
        machine = try FakeMachine()
        runner = FakeRunner()
        events = ManualEventSource()
        try machine.addInterface("wlan0", kind: .wifi)
        try machine.addRoute("0.0.0.0/0", interface: "wlan0", metric: 600)
    }

    override func tearDownWithError() throws {
        monitor?.stop()
        monitor = nil
        try super.tearDownWithError()
    }

    /// Starts the monitor over the fake machine (endpoint on the internet) and the uploader.
    @discardableResult
    func startWatched(client: (any S3Client)? = nil, _ change: (inout NetworkSettings) -> Void = { _ in }) -> QueueRunner {
        let inspector = NetworkInspector(settings: machine.settings(change), endpointAddresses: { [[198, 51, 100, 7]] },
                                         runner: runner)
        let watching = NetworkMonitor(inspector: inspector, events: events, interval: 3600, logger: logger)
        monitor = watching
        let started = QueueRunner(engine: engine, s3: client ?? s3, logger: logger)
        uploader = started
        started.follow(watching)
        started.start()
        return started
    }

    /// What the kernel would say after the fake machine changed.
    func networkChanged() { events.fire() }

    func testMeteredConnectionHoldsUploadsUntilThePolicyAllowsThem() throws {
        runner.networkManager("wlan0", metered: "yes")
        startWatched()
        try record("take1.wav", TestAudio.wav(seconds: 0.2))
        try assertStays("take1.wav stays pending on a metered connection", for: 1) {
            try storedRecord("take1.wav")?.status == .pending && allPutCalls.isEmpty
        }
        XCTAssertEqual(try attribute("take1.wav", "user.sync.error"), "paused: metered connection")
        XCTAssertEqual(try attribute("take1.wav", "user.sync.status"), "pending")
        let summary = try engine.summary()
        XCTAssertEqual(summary.paused, "metered connection")
        XCTAssertEqual(summary.counts["pending"], 1)
        XCTAssertEqual(summary.network.meteredBy, "networkmanager")
        XCTAssertGreaterThan(summary.bytesWaiting, 0)

        // The user marks the connection unmetered in NetworkManager (or moves to another network).
        runner.networkManager("wlan0", metered: "no")
        let changedAt = Date()
        networkChanged()
        try waitForStatus("take1.wav", .synced, timeout: 2)
        XCTAssertLessThan(Date().timeIntervalSince(changedAt), 2)
        XCTAssertEqual(try attribute("take1.wav", "user.sync.error"), "")
        XCTAssertNil(try engine.summary().paused)
    }

    func testSyncOnMeteredConnectionLetsUploadsRun() throws {
        try makeEngine(syncOnMeteredConnection: true)
        runner.networkManager("wlan0", metered: "yes")
        startWatched()
        try record("take1.wav", TestAudio.wav(seconds: 0.2))
        try waitForStatus("take1.wav", .synced)
    }

    func testPlainSyncNowWaitsAndForceUploadsThatFileOnce() throws {
        startWatched { $0.meteredInterfaces = ["wlan0"] }
        try record("a.wav", TestAudio.wav(seconds: 0.2))
        try record("b.wav", TestAudio.wav(seconds: 0.3))
        try engine.syncNow(path: "a.wav")
        try assertStays("a plain sync-now respects the metered rule", for: 1) {
            try storedRecord("a.wav")?.status == .pending
        }
        XCTAssertEqual(try attribute("a.wav", "user.sync.error"), "paused: metered connection")
        try engine.syncNow(path: "a.wav", force: true)
        XCTAssertEqual(try attribute("a.wav", "user.sync.error"), "", "a forced file does not wait")
        try waitForStatus("a.wav", .synced)
        XCTAssertEqual(try storedRecord("b.wav")?.status, .pending, "--force is for the named file only")
        XCTAssertFalse(engine.gate.isForced("a.wav"), "a force is used up by the upload it allowed")
    }

    func testMobileDataIsRefusedByDefault() throws {
        try machine.removeRoutes()
        try machine.addInterface("wwan0", kind: .wwan)
        try machine.addRoute("0.0.0.0/0", interface: "wwan0", metric: 700)
        startWatched()
        try record("field.wav", TestAudio.wav(seconds: 0.2))
        try assertStays("nothing goes over mobile data", for: 0.5) { allPutCalls.isEmpty }
        XCTAssertEqual(try attribute("field.wav", "user.sync.error"), "paused: mobile data")
        // Back at the hotel: Wi-Fi comes up with a better route.
        try machine.addRoute("0.0.0.0/0", interface: "wlan0", metric: 50)
        networkChanged()
        try waitForStatus("field.wav", .synced, timeout: 2)
    }

    func testOfflineFilesStayPendingWithoutAttemptsAndGoUpWhenTheNetworkReturns() throws {
        try machine.removeRoutes()
        startWatched()
        try record("take1.wav", TestAudio.wav(seconds: 0.2))
        try assertStays("offline: nothing is tried", for: 1) { try storedRecord("take1.wav")?.status == .pending }
        XCTAssertTrue(s3.calls.isEmpty, "no request is made while offline: \(s3.calls)")
        XCTAssertEqual(try attribute("take1.wav", "user.sync.error"), "paused: offline")
        XCTAssertEqual(try storedRecord("take1.wav")?.attempts, 0)
        XCTAssertEqual(try engine.summary().network, .offline("no default route"))

        try machine.addRoute("0.0.0.0/0", interface: "wlan0")
        let back = Date()
        networkChanged()
        let synced = try waitForStatus("take1.wav", .synced, timeout: 2)
        XCTAssertLessThan(Date().timeIntervalSince(back), 2)
        XCTAssertEqual(synced?.attempts, 0)
    }

    func testBackoffWaitsAreDroppedWhenTheNetworkReturns() throws {
        try machine.removeRoutes()
        startWatched()
        try record("take1.wav", TestAudio.wav(seconds: 0.2))
        // An attempt failed earlier (before the network went away) and waits five minutes.
        let claimed = try XCTUnwrap(queue.claim(limit: 1).first)
        XCTAssertTrue(try queue.markAttemptFailed(path: "take1.wav", generation: claimed.generation, error: "503 SlowDown",
                                                  retryAt: Date().addingTimeInterval(300), countAttempt: true))
        try machine.addRoute("0.0.0.0/0", interface: "wlan0")
        networkChanged()
        let synced = try waitForStatus("take1.wav", .synced, timeout: 2)
        XCTAssertEqual(synced?.attempts, 1, "the attempt made before stays counted; none is added")
    }

    func testGoingOfflineStopsAnUploadWithoutCountingIt() throws {
        let gated = GatedS3Client(inner: s3, stage: .beforeSending)
        startWatched(client: gated)
        try record("take1.wav", TestAudio.wav(seconds: 0.2))
        try waitUntil("the upload is in flight") { gated.arrivals.count == 1 }
        try machine.removeRoutes()
        networkChanged()
        let pending = try waitForStatus("take1.wav", .pending, timeout: 2)
        XCTAssertEqual(pending?.attempts, 0)
        XCTAssertEqual(try attribute("take1.wav", "user.sync.error"), "paused: offline")
        gated.open()
        try machine.addRoute("0.0.0.0/0", interface: "wlan0")
        networkChanged()
        let synced = try waitForStatus("take1.wav", .synced, timeout: 2)
        XCTAssertEqual(synced?.attempts, 0)
    }

    func testSmallPutObjectInFlightFinishesWhenTheConnectionBecomesMetered() throws {
        let gated = GatedS3Client(inner: s3, stage: .beforeSending)
        startWatched(client: gated)
        try record("take1.wav", TestAudio.wav(seconds: 0.2))
        try waitUntil("the upload is in flight") { gated.arrivals.count == 1 }
        runner.networkManager("wlan0", metered: "yes")
        networkChanged()
        try waitUntil("the policy pauses uploads") { engine.gate.pauseReason == .metered }
        gated.open()
        try waitForStatus("take1.wav", .synced)
        try record("take2.wav", TestAudio.wav(seconds: 0.2))
        try assertStays("the next file waits", for: 0.5) { try storedRecord("take2.wav")?.status == .pending }
    }

    func testMultipartUploadStopsAfterItsCurrentPartWhenTheConnectionBecomesMetered() throws {
        try makeEngine(workers: 1, chunkSize: 5 * 1024 * 1024)
        let slow = SlowPartsS3Client(inner: s3, delay: 0.3)
        startWatched(client: slow)
        let data = TestAudio.bytes(5 * 5 * 1024 * 1024 + 17)  // 6 parts
        try record("session.wav", data)
        try waitUntil("the second part is in flight") { slow.partsStarted >= 2 }
        runner.networkManager("wlan0", metered: "yes")
        networkChanged()
        try waitForStatus("session.wav", .pending, timeout: 3)
        let stoppedAt = slow.partsStarted
        XCTAssertLessThan(stoppedAt, 6, "it stopped between parts")
        try assertStays("no part starts on the metered connection", for: 1) { slow.partsStarted == stoppedAt }
        let stored = try XCTUnwrap(queue.multipart(path: "session.wav", generation: try XCTUnwrap(storedRecord("session.wav")).generation))
        XCTAssertEqual(stored.parts.count, stoppedAt, "every part that started was completed and kept")
        XCTAssertEqual(try storedRecord("session.wav")?.attempts, 0)

        runner.networkManager("wlan0", metered: "no")
        networkChanged()
        try waitForStatus("session.wav", .synced, timeout: 10)
        XCTAssertEqual(slow.partsStarted, 6, "the upload resumed: each part was sent once")
        XCTAssertEqual(object(try XCTUnwrap(storedRecord("session.wav")).s3Key)?.data, data)
    }

    func testAutoSyncOffUploadsOnlyWhatTheUserAsksFor() throws {
        try makeEngine(autoSync: false)
        startWatched()
        try record("a.wav", TestAudio.wav(seconds: 0.2))
        try assertStays("auto_sync off: nothing uploads by itself", for: 0.5) { allPutCalls.isEmpty }
        XCTAssertEqual(try attribute("a.wav", "user.sync.error"), "paused: auto sync is off")
        try engine.syncNow(path: "a.wav")
        try waitForStatus("a.wav", .synced)
    }

    func testSummaryAttributeOnTheRootFolder() throws {
        runner.networkManager("wlan0", metered: "yes")
        startWatched()
        try record("a.wav", TestAudio.wav(seconds: 0.2))
        let json = try XCTUnwrap(engine.syncAttribute(path: "", name: "user.sync.summary", isDirectory: true))
        let object = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual((object["counts"] as? [String: Int])?["pending"], 1)
        XCTAssertEqual(object["paused"] as? String, "metered connection")
        XCTAssertEqual(object["bytes_waiting"] as? Int, try contents("a.wav").count)
        let network = try XCTUnwrap(object["network"] as? [String: Any])
        XCTAssertEqual(network["type"] as? String, "wifi")
        XCTAssertEqual(network["interface"] as? String, "wlan0")
        XCTAssertEqual(network["metered"] as? Bool, true)
        XCTAssertEqual(engine.syncAttributeNames(path: "", isDirectory: true), ["user.sync.status", "user.sync.summary"])
        XCTAssertNil(try engine.syncAttribute(path: "sub", name: "user.sync.summary", isDirectory: true))
        // Told where the event log is, the root folder names it, to its owner only.
        engine.eventLogPath.withLock { $0 = "/var/lib/recsync/srv-recordings/events.jsonl" }
        XCTAssertEqual(engine.syncAttributeNames(path: "", isDirectory: true), ["user.sync.status", "user.sync.summary", "user.sync.events"])
        XCTAssertEqual(try engine.syncAttribute(path: "", name: "user.sync.events", isDirectory: true), "/var/lib/recsync/srv-recordings/events.jsonl")
        let stranger = PassthroughFS.Caller(uid: 4242, gid: 4242)
        XCTAssertThrowsError(try engine.syncAttribute(path: "", name: "user.sync.events", isDirectory: true, caller: stranger))
        XCTAssertEqual(engine.syncAttributeNames(path: "", isDirectory: true, caller: stranger), ["user.sync.status"])
    }
}

/// The in-memory S3 with every UploadPart taking `delay` seconds, counting parts started.
final class SlowPartsS3Client: ForwardingS3Client, @unchecked Sendable {
    let delay: TimeInterval
    private let lock = NSLock()
    private var started = 0

    init(inner: InMemoryS3Client, delay: TimeInterval) {
        self.delay = delay
        super.init(inner: inner)
    }

    var partsStarted: Int { lock.lock(); defer { lock.unlock() }; return started }

    override func uploadPart(bucket: String, key: String, uploadId: String, partNumber: Int, body: FileBody, offset: Int64, length: Int64,
                             progress: (@Sendable (Int64) -> Void)?, shouldCancel: (@Sendable () -> Bool)?) throws -> UploadedPart {
        lock.lock()
        started += 1
        lock.unlock()
        Thread.sleep(forTimeInterval: delay)
        return try super.uploadPart(bucket: bucket, key: key, uploadId: uploadId, partNumber: partNumber, body: body, offset: offset,
                                    length: length, progress: progress, shouldCancel: shouldCancel)
    }
}
