import Foundation
import XCTest

/// The disk under the recordings (and the queue) fills up: the writer gets ENOSPC, not EIO; the
/// daemon keeps running, files already queued still upload, the queue database stays sound, and
/// writing works again once space is freed.
final class DiskFullTests: ProxiedMountTestCase {
    var smallDisk: String?

    override func tearDown() {
        proxy?.stop()
        fixture?.tearDown()
        if let smallDisk { _ = try? Shell.run(["umount", "-l", smallDisk]) }
        proxy?.removeFiles()
        super.tearDown()
    }

    func testDiskFullGivesENOSPCAndEverythingWorksAgainOnceSpaceIsFreed() throws {
        let server = try TestServer.moto()
        try mountThroughProxy(server: server, rules: [FaultRule(mode: .serviceUnavailable, method: "PUT", path: "queued.raw")],
                              mount: false)
        // A 48 MiB filesystem holds both the recordings and the state folder.
        let root = fixture.root.path
        let mounted = try Shell.run(["mount", "-t", "tmpfs", "-o", "size=48m,mode=0755", "tmpfs", root])
        XCTAssertTrue(mounted.succeeded, "tmpfs is needed for this test: \(mounted.stderr)")
        smallDisk = root
        try FileManager.default.createDirectory(at: fixture.mountpoint, withIntermediateDirectories: true)
        try fixture.useConfig("[sync]\nsettle_delay = 0\n")
        // Mounted twice: the queue's room must be there after a restart too.
        try fixture.mount()
        try fixture.unmount()
        try fixture.mount()
        let pid = try XCTUnwrap(fixture.daemonPID)

        try Recording.random("queued.raw", bytes: 1 << 20).write(to: fixture.path("queued.raw"))
        try eventually("the first attempt failed", timeout: 20) {
            (try self.fixture.attribute("user.sync.attempts", of: "queued.raw")) == "1"
        }

        let fill = try Shell.run(["dd", "if=/dev/zero", "of=\(fixture.path("fill.raw"))", "bs=1M", "count=100", "status=none"])
        XCTAssertFalse(fill.succeeded)
        XCTAssertTrue(fill.stderr.contains("No space left on device"), "the writer gets ENOSPC: \(fill.stderr)")
        // The errno itself, as a program sees it on write().
        let small = try Shell.run(["python3", "-c", """
            import errno, os, sys
            fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
            try:
                for _ in range(1000): os.write(fd, b"x" * 65536)
            except OSError as e:
                print(errno.errorcode[e.errno])
            try:
                os.close(fd)
                print("closed")
            except OSError as e:
                print("close " + errno.errorcode[e.errno])
            """, fixture.path("more.txt")])
        let answers = small.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(answers.first, "ENOSPC", "a full disk is ENOSPC, not EIO: \(small.stdout) \(small.stderr)")
        XCTAssertTrue(answers.last == "closed" || answers.last == "close ENOSPC", "close() is never EIO: \(small.stdout)")
        XCTAssertTrue(MountFixture.isAlive(pid), "the daemon keeps running")
        var st = stat()
        XCTAssertEqual(stat(fixture.path("queued.raw"), &st), 0, "the mount still answers")

        let database = fixture.stateDir.appendingPathComponent("queue.sqlite3").path
        let check = try Shell.run(["python3", "-c",
            "import sqlite3,sys; c=sqlite3.connect('file:'+sys.argv[1]+'?mode=ro', uri=True); print(c.execute('PRAGMA integrity_check').fetchone()[0])",
            database])
        XCTAssertEqual(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines), "ok", check.stderr)

        // A file queued before the disk filled still uploads.
        try proxy.setRules([])
        let now = try fixture.recsync(["sync-now", "--wait", fixture.path("queued.raw")])
        XCTAssertTrue(now.succeeded, now.stderr)
        try assertSyncedByteForByte(["queued.raw"])

        // Space freed: writing works again, and new files upload.
        try FileManager.default.removeItem(atPath: fixture.path("fill.raw"))
        try? FileManager.default.removeItem(atPath: fixture.path("more.txt"))
        try Recording.random("after.raw", bytes: 2 << 20).write(to: fixture.path("after.raw"))
        try assertSyncedByteForByte(["after.raw"])
        XCTAssertTrue(MountFixture.isAlive(pid))
        ChaosScale.report("disk full", passed: answers.first == "ENOSPC" && check.stdout.hasPrefix("ok"), [
            "filesystem_mib": 48, "writer_errno": answers.first ?? "-", "close": answers.last ?? "-",
            "daemon_alive": MountFixture.isAlive(pid), "integrity_check": check.stdout.trimmingCharacters(in: .whitespacesAndNewlines),
            "queued_file_uploaded": true, "writes_after_freeing_space": true,
        ])
    }
}
