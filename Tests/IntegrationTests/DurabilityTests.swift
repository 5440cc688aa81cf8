import Foundation
import XCTest

/// Offline recording, the queue across kill -9 and remounts, and files added while unmounted.
final class DurabilityTests: XCTestCase {
    var fixture: MountFixture!

    override func tearDown() {
        fixture?.tearDown()
    }

    /// An endpoint nobody listens on: a free port on 127.0.0.1.
    private func deadEndpoint() -> String { "http://127.0.0.1:\(TestServer.freePort())" }

    func testOfflineMountKeepsRecordingAndSurvivesKill9() throws {
        let server = try TestServer.moto()
        let bucket = try server.makeBucket()
        fixture = try MountFixture(server: server, bucket: bucket)
        let dead = deadEndpoint()
        var offline = fixture.mountArguments
        offline[offline.firstIndex(of: "--endpoint")! + 1] = dead
        let mounted = try Shell.run(offline, environment: fixture.environment)
        XCTAssertEqual(mounted.status, 0, "an unreachable endpoint must not stop the mount: \(mounted.stderr)")

        try Shell.run(["sox", "-n", fixture.path("field.wav"), "synth", "0.5", "sine", "500"])
        try Shell.sh("printf 'notes' > \(Shell.quote(fixture.path("notes.txt")))")
        XCTAssertEqual(try fixture.status("field.wav"), "pending")
        // The failed attempts are recorded, and the file stays pending.
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, (try fixture.attribute("user.sync.error", of: "field.wav")) == "" { usleep(50_000) }
        XCTAssertNotEqual(try fixture.attribute("user.sync.error", of: "field.wav"), "")
        XCTAssertEqual(try fixture.status("field.wav"), "pending")
        XCTAssertEqual(try fixture.attribute("user.sync.attempts", of: "field.wav"), "0",
                       "an unreachable endpoint does not spend attempts")

        // Crash: the queue must survive kill -9.
        let pid = try XCTUnwrap(fixture.daemonPID)
        kill(pid, SIGKILL)
        while MountFixture.isAlive(pid) { usleep(10_000) }
        _ = try Shell.run(["fusermount3", "-uz", fixture.mountpoint.path])
        let recording = try fixture.backingContents("field.wav")
        XCTAssertFalse(recording.isEmpty, "the recording is a plain file where the user put it")

        try fixture.mount()
        try fixture.waitForStatus("field.wav", "synced")
        try fixture.waitForStatus("notes.txt", "synced")
        let key = try XCTUnwrap(try fixture.attribute("user.sync.s3key", of: "field.wav"))
        XCTAssertEqual(try fixture.object(key), recording)
        XCTAssertEqual(try fixture.attribute("user.sync.priority", of: "field.wav"), "8",
                       "a file closed in the mount keeps its HIGH priority across the crash")
    }

    func testFilesAddedWhileUnmountedAreFoundAtMount() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try FileManager.default.createDirectory(atPath: fixture.path("old/session"), withIntermediateDirectories: true)
        try Data("archive".utf8).write(to: URL(fileURLWithPath: fixture.path("old/session/a.txt")))
        try Data("loose".utf8).write(to: URL(fileURLWithPath: fixture.path("b.txt")))
        try fixture.mount()
        try fixture.waitForStatus("old/session/a.txt", "synced")
        try fixture.waitForStatus("b.txt", "synced")
        XCTAssertEqual(try fixture.attribute("user.sync.priority", of: "b.txt"), "5", "scanned files are NORMAL priority")

        // Changed while unmounted: uploaded again on the next mount.
        try fixture.unmount()
        try Data("loose, edited".utf8).write(to: URL(fileURLWithPath: fixture.path("b.txt")))
        try fixture.mount()
        let key = try XCTUnwrap(try fixture.attribute("user.sync.s3key", of: "b.txt"))
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline, (try? fixture.object(key)) != Data("loose, edited".utf8) { usleep(50_000) }
        try fixture.waitForStatus("b.txt", "synced")
        XCTAssertEqual(try fixture.object(key), Data("loose, edited".utf8))
    }

    func testUnmountWaitsForTheDaemonAndLeavesPlainFiles() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try fixture.mount()
        let pid = try XCTUnwrap(fixture.daemonPID)
        try Shell.sh("printf 'abc' > \(Shell.quote(fixture.path("c.txt")))")
        try fixture.waitForStatus("c.txt", "synced")
        try fixture.unmount()
        XCTAssertFalse(MountFixture.isAlive(pid), "recsync unmount returns after the daemon stopped")
        XCTAssertFalse(fixture.isMounted)
        XCTAssertEqual(try fixture.backingContents("c.txt"), Data("abc".utf8))
    }

    func testSigtermUnmountsCleanlyAndKeepsTheQueue() throws {
        let server = try TestServer.moto()
        fixture = try MountFixture(server: server)
        var offline = fixture.mountArguments
        offline[offline.firstIndex(of: "--endpoint")! + 1] = deadEndpoint()
        XCTAssertEqual(try Shell.run(offline, environment: fixture.environment).status, 0)
        try Shell.sh("printf 'kept' > \(Shell.quote(fixture.path("kept.txt")))")
        XCTAssertEqual(try fixture.status("kept.txt"), "pending")
        let pid = try XCTUnwrap(fixture.daemonPID)
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(20)
        while MountFixture.isAlive(pid) && Date() < deadline { usleep(20_000) }
        XCTAssertFalse(MountFixture.isAlive(pid), "SIGTERM stops the daemon within its grace time")
        XCTAssertFalse(fixture.isMounted, "SIGTERM unmounts")
        XCTAssertTrue(fixture.log.contains("stopped"), fixture.log)
        XCTAssertEqual(try fixture.backingContents("kept.txt"), Data("kept".utf8))

        try fixture.mount()
        try fixture.waitForStatus("kept.txt", "synced")
    }
}
