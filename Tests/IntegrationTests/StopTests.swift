import Foundation
import XCTest

/// Written means kept: every way the daemon can stop (SIGTERM, SIGINT, `recsync unmount`,
/// `fusermount3 -u`, kill -9) with a program in the middle of writing a file. Every byte a
/// write() acknowledged is in the backing file afterwards, the folder is usable at once, and the
/// file ends synced with those bytes after the next mount.
class StopTests: XCTestCase {
    var fixture: MountFixture!
    var writers: [Process] = []

    /// Top-level settings of every test's config: the defaults here (kernel passthrough where
    /// the kernel allows it), `kernel_passthrough = false` in `StopWithoutPassthroughTests`.
    class var topLevelSettings: String { "" }

    func configure(_ text: String) throws {
        try fixture.useConfig(Self.topLevelSettings + text)
    }

    override func tearDown() {
        for writer in writers where writer.isRunning { writer.terminate() }
        fixture?.tearDown()
    }

    static var ackWriter: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("tools/ackwriter.py").path
    }

    /// Starts a writer that writes `bytes`, reports ready, then holds the file open for `hold`
    /// seconds writing `thenBytes` more at `rate` bytes/s. Returns the file recording its acknowledged total.
    func startWriter(_ name: String, bytes: Int, block: Int = 65536, hold: Double, thenBytes: Int = 0,
                     rate: Int = 0) throws -> String {
        let acked = fixture.root.appendingPathComponent("\(name).acked").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.ackWriter, "write", fixture.path(name), "--acked", acked,
                             "--block", "\(block)", "--bytes", "\(bytes)", "--hold", "\(hold)",
                             "--then-bytes", "\(thenBytes)", "--rate", "\(rate)"]
        try process.run()
        writers.append(process)
        let deadline = Date().addingTimeInterval(60)
        while !FileManager.default.fileExists(atPath: acked + ".ready") {
            guard Date() < deadline, process.isRunning || FileManager.default.fileExists(atPath: acked + ".ready") else {
                throw TestFailure("the writer of \(name) did not get ready")
            }
            usleep(20_000)
        }
        return acked
    }

    func acknowledged(_ acked: String) -> Int {
        Int((try? String(contentsOfFile: acked, encoding: .utf8))?.trimmingCharacters(in: .whitespaces) ?? "") ?? -1
    }

    /// Checks the backing file (read with the mount gone) against what the writer was told.
    func assertKept(_ name: String, acked: String, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertFalse(fixture.isMounted, "checked on the plain folder", file: file, line: line)
        let result = try Shell.run(["python3", Self.ackWriter, "verify", fixture.path(name), "--acked", acked])
        XCTAssertTrue(result.succeeded, "\(name): \(result.stderr)\n--- log ---\n\(fixture.log.suffix(3000))", file: file, line: line)
    }

    func waitForExit(_ pid: pid_t, timeout: TimeInterval) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while MountFixture.isAlive(pid) && Date() < deadline { usleep(20_000) }
        return !MountFixture.isAlive(pid)
    }

    /// After the stop: the folder is plain again, the acknowledged bytes are there, and the next
    /// mount uploads exactly the file's bytes.
    func assertRecoveredAfterRemount(_ name: String, acked: String, file: StaticString = #filePath, line: UInt = #line) throws {
        try assertKept(name, acked: acked, file: file, line: line)
        try fixture.mount()
        try fixture.waitForStatus(name, "synced", timeout: 60)
        // Read once synced: with kernel passthrough a writer that outlived the stop may have gone
        // on writing, and the file is synced only once no writer has it (StopTests' subclass
        // checks the same without passthrough, where the writer stopped with the daemon).
        let contents = try fixture.backingContents(name)
        let key = try XCTUnwrap(try fixture.attribute("user.sync.s3key", of: name))
        XCTAssertEqual(try fixture.object(key), contents, "the object holds the bytes that were kept", file: file, line: line)
    }

    func testSigtermWithAWriterHoldingSixtyFourMiBLosesNothing() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try configure("[sync]\nshutdown_grace = 2\nsettle_delay = 0\n")
        try fixture.mount()
        let pid = try XCTUnwrap(fixture.daemonPID)
        let acked = try startWriter("held.raw", bytes: 64 << 20, hold: 30, thenBytes: 8 << 20, rate: 4 << 20)
        kill(pid, SIGTERM)
        XCTAssertTrue(waitForExit(pid, timeout: 30), "SIGTERM stops the daemon after the grace period")
        XCTAssertFalse(fixture.isMounted, "the mount is detached, not left dead")
        XCTAssertGreaterThanOrEqual(acknowledged(acked), 64 << 20)
        XCTAssertTrue(fixture.log.contains("still open for writing after the grace period"), fixture.log)
        XCTAssertTrue(fixture.log.contains("held.raw"), "the log names the file")
        var st = stat()
        XCTAssertEqual(stat(fixture.mountpoint.path, &st), 0, "the folder answers (no ENOTCONN)")
        fixture.mounted = false
        try assertRecoveredAfterRemount("held.raw", acked: acked)
    }

    func testSigintLetsAWriterThatFinishesWithinTheGraceQueueItsFile() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try configure("[sync]\nshutdown_grace = 20\nsettle_delay = 0\n")
        try fixture.mount()
        let pid = try XCTUnwrap(fixture.daemonPID)
        let acked = try startWriter("take.raw", bytes: 4 << 20, hold: 1.5, thenBytes: 2 << 20, rate: 2 << 20)
        kill(pid, SIGINT)
        XCTAssertTrue(waitForExit(pid, timeout: 40))
        let closed = acked + ".closed"
        XCTAssertTrue(FileManager.default.fileExists(atPath: closed),
                      "the writer finished and closed its file without an error: \((try? String(contentsOfFile: acked + ".error", encoding: .utf8)) ?? "")")
        XCTAssertGreaterThanOrEqual(acknowledged(acked), 6 << 20, "writes within the grace period went through")
        XCTAssertFalse(fixture.log.contains("still open for writing after the grace period"))
        fixture.mounted = false
        try assertRecoveredAfterRemount("take.raw", acked: acked)
    }

    func testKill9WithAWriterHoldingThirtyTwoMiBLosesNothingAndMountClearsTheDeadMount() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try configure("[sync]\nsettle_delay = 0\n")
        try fixture.mount()
        let pid = try XCTUnwrap(fixture.daemonPID)
        let acked = try startWriter("crash.raw", bytes: 32 << 20, hold: 30, thenBytes: 64 << 20, rate: 8 << 20)
        kill(pid, SIGKILL)
        XCTAssertTrue(waitForExit(pid, timeout: 10))
        usleep(300_000)
        var st = stat()
        XCTAssertNotEqual(stat(fixture.mountpoint.path, &st), 0, "a killed daemon leaves a dead mount")
        XCTAssertEqual(errno, ENOTCONN)
        // `recsync mount` on the same folder clears the dead mount by itself and goes on.
        let remount = try Shell.run(fixture.mountArguments, environment: fixture.environment)
        XCTAssertTrue(remount.succeeded, remount.stderr)
        XCTAssertTrue(remount.stderr.contains("detached the dead mount"), remount.stderr)
        fixture.mounted = true
        try fixture.waitForStatus("crash.raw", "synced", timeout: 60)
        let contents = try Data(contentsOf: URL(fileURLWithPath: fixture.path("crash.raw")))
        XCTAssertGreaterThanOrEqual(contents.count, acknowledged(acked))
        try fixture.unmount()
        try assertKept("crash.raw", acked: acked)
        let key = "anonymous/\(MountFixture.yearMonth)/crash.raw"
        XCTAssertEqual(try fixture.object(key), try fixture.backingContents("crash.raw"))
    }

    func testRecsyncUnmountNamesFilesStillOpenAndKeepsTheirBytes() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try configure("[sync]\nshutdown_grace = 1\nsettle_delay = 0\n")
        try fixture.mount()
        let pid = try XCTUnwrap(fixture.daemonPID)
        let first = try startWriter("a one.raw", bytes: 3 << 20, hold: 30, thenBytes: 4 << 20, rate: 1 << 20)
        let second = try startWriter("b-two.raw", bytes: 1 << 20, block: 4096, hold: 30)
        let result = try fixture.recsync(["unmount", fixture.mountpoint.path])
        XCTAssertTrue(result.succeeded, result.stderr)
        XCTAssertTrue(result.stderr.contains("2 file(s) were still open for writing"), result.stderr)
        XCTAssertTrue(result.stderr.contains("a one.raw") && result.stderr.contains("b-two.raw"), result.stderr)
        XCTAssertFalse(MountFixture.isAlive(pid), "recsync unmount returns after the daemon stopped")
        XCTAssertFalse(fixture.isMounted)
        fixture.mounted = false
        try assertKept("a one.raw", acked: first)
        try assertKept("b-two.raw", acked: second)
        try assertRecoveredAfterRemount("a one.raw", acked: first)
        try fixture.waitForStatus("b-two.raw", "synced", timeout: 30)
    }

    func testFusermountWhileAFileIsOpenIsRefusedAndLosesNothing() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try configure("[sync]\nsettle_delay = 0\n")
        try fixture.mount()
        let acked = try startWriter("busy.raw", bytes: 2 << 20, hold: 3)
        let refused = try Shell.run(["fusermount3", "-u", fixture.mountpoint.path])
        XCTAssertFalse(refused.succeeded, "the kernel refuses to unmount a busy mount")
        XCTAssertTrue(fixture.isMounted)
        let deadline = Date().addingTimeInterval(20)
        while !FileManager.default.fileExists(atPath: acked + ".closed") && Date() < deadline { usleep(50_000) }
        try fixture.waitForStatus("busy.raw", "synced", timeout: 30)
        let pid = try XCTUnwrap(fixture.daemonPID)
        let unmounted = try Shell.run(["fusermount3", "-u", fixture.mountpoint.path])
        XCTAssertTrue(unmounted.succeeded, unmounted.stderr)
        XCTAssertTrue(waitForExit(pid, timeout: 20), "the daemon stops when its mount goes away")
        fixture.mounted = false
        try assertKept("busy.raw", acked: acked)
    }
}

/// The same stops with every read and write going through the daemon, as on a kernel without
/// FUSE passthrough (before Linux 6.13, or without root).
final class StopWithoutPassthroughTests: StopTests {
    override class var topLevelSettings: String { "kernel_passthrough = false\n" }

    // Listed again: test discovery on Linux finds only the methods a class declares itself.
    override func testSigtermWithAWriterHoldingSixtyFourMiBLosesNothing() throws { try super.testSigtermWithAWriterHoldingSixtyFourMiBLosesNothing() }
    override func testSigintLetsAWriterThatFinishesWithinTheGraceQueueItsFile() throws { try super.testSigintLetsAWriterThatFinishesWithinTheGraceQueueItsFile() }
    override func testKill9WithAWriterHoldingThirtyTwoMiBLosesNothingAndMountClearsTheDeadMount() throws { try super.testKill9WithAWriterHoldingThirtyTwoMiBLosesNothingAndMountClearsTheDeadMount() }
    override func testRecsyncUnmountNamesFilesStillOpenAndKeepsTheirBytes() throws { try super.testRecsyncUnmountNamesFilesStillOpenAndKeepsTheirBytes() }
    override func testFusermountWhileAFileIsOpenIsRefusedAndLosesNothing() throws { try super.testFusermountWhileAFileIsOpenIsRefusedAndLosesNothing() }
}
