import Foundation
import XCTest

/// The user's own triggers: user.sync.request, recsync status, retry, import, drain and events.
final class TriggerTests: XCTestCase {
    var fixture: MountFixture!

    override func tearDown() {
        fixture?.tearDown()
    }

    private func recsync(_ arguments: [String]) throws -> CommandResult {
        try Shell.run([MountFixture.binary] + arguments, environment: fixture.environment)
    }

    func testMissingBucketFailsOnceThenRetryAttributeGetsItThrough() throws {
        let server = try TestServer.moto()
        let bucket = "rt-missing-\(UUID().uuidString.lowercased().prefix(12))"
        fixture = try MountFixture(server: server, bucket: bucket)
        try fixture.mount()
        try Shell.sh("printf 'late bucket' > \(Shell.quote(fixture.path("late.txt")))")
        try fixture.waitForStatus("late.txt", "failed")
        XCTAssertEqual(try fixture.attribute("user.sync.attempts", of: "late.txt"), "1", "a permanent error is not retried")
        let error = try XCTUnwrap(try fixture.attribute("user.sync.error", of: "late.txt"))
        XCTAssertTrue(error.contains("NoSuchBucket"), error)
        XCTAssertTrue(error.contains("recsync retry"), "the error says what to do: \(error)")

        let bad = try Shell.run(["setfattr", "-n", "user.sync.request", "-v", "later", fixture.path("late.txt")])
        XCTAssertFalse(bad.succeeded)
        XCTAssertTrue(bad.stderr.contains("Invalid argument"), bad.stderr)

        try server.client().createBucket(bucket: bucket)
        XCTAssertTrue(try Shell.run(["setfattr", "-n", "user.sync.request", "-v", "retry", fixture.path("late.txt")]).succeeded)
        try fixture.waitForStatus("late.txt", "synced")
        XCTAssertEqual(try fixture.object(try XCTUnwrap(try fixture.attribute("user.sync.s3key", of: "late.txt"))),
                       Data("late bucket".utf8))
    }

    func testRetryCommandAndStatusCommand() throws {
        let server = try TestServer.moto()
        let bucket = "rt-missing-\(UUID().uuidString.lowercased().prefix(12))"
        fixture = try MountFixture(server: server, bucket: bucket)
        try fixture.mount()
        for name in ["a.txt", "b.txt"] {
            try Shell.sh("printf '\(name)' > \(Shell.quote(fixture.path(name)))")
            try fixture.waitForStatus(name, "failed")
        }
        let status = try recsync(["status", fixture.mountpoint.path])
        XCTAssertTrue(status.succeeded, status.stderr)
        let rows = status.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(rows.filter { $0.range(of: #"^(⚠️ )?failed +5 bytes +1 +- +[ab]\.txt  error: .*NoSuchBucket"#, options: .regularExpression) != nil }.count,
                       2, "status, size, attempts, next retry, name and error: \(status.stdout)")
        XCTAssertTrue(rows.contains("2 files in \(fixture.mountpoint.path): 2 failed"), status.stdout)
        XCTAssertTrue(rows.contains { $0.hasPrefix("mount: 0 local, 0 pending, 0 syncing, 0 synced, 2 failed;") }, status.stdout)
        let json = try recsync(["status", "--json", fixture.path("a.txt")])
        let decoded = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let files = try XCTUnwrap(decoded?["files"] as? [[String: Any]])
        XCTAssertEqual(files.count, 1)
        XCTAssertEqual(files.first?["status"] as? String, "failed")

        try server.client().createBucket(bucket: bucket)
        let retried = try recsync(["retry", "--all-failed", fixture.mountpoint.path])
        XCTAssertTrue(retried.succeeded, retried.stderr)
        XCTAssertTrue(retried.stdout.contains("2 failed file(s) queued again"), retried.stdout)
        try fixture.waitForStatus("a.txt", "synced")
        try fixture.waitForStatus("b.txt", "synced")
        let usage = try recsync(["retry", fixture.mountpoint.path + "/../nowhere"])
        XCTAssertNotEqual(usage.status, 0)
    }

    func testImportCopiesAnArchiveInAtLowPriority() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try fixture.mount()
        let archive = fixture.root.appendingPathComponent("archive/2019")
        try FileManager.default.createDirectory(at: archive, withIntermediateDirectories: true)
        try Data("old one".utf8).write(to: archive.appendingPathComponent("old1.txt"))
        try Data("old two".utf8).write(to: archive.appendingPathComponent("old2.txt"))
        // Links in the tree lead nowhere: a folder link and a file link to files outside are skipped.
        let secret = fixture.root.appendingPathComponent("secret")
        try FileManager.default.createDirectory(at: secret, withIntermediateDirectories: true)
        try Data("root only".utf8).write(to: secret.appendingPathComponent("shadow.txt"))
        try FileManager.default.createSymbolicLink(atPath: archive.appendingPathComponent("linked-folder").path, withDestinationPath: secret.path)
        try FileManager.default.createSymbolicLink(atPath: archive.appendingPathComponent("linked.txt").path,
                                                   withDestinationPath: secret.appendingPathComponent("shadow.txt").path)
        let result = try recsync(["import", fixture.root.appendingPathComponent("archive").path, "--into", fixture.mountpoint.path])
        XCTAssertTrue(result.succeeded, result.stderr)
        XCTAssertTrue(result.stdout.contains("2 copied, 2 queued at LOW priority"), result.stdout)
        XCTAssertFalse(FileManager.default.fileExists(atPath: fixture.root.appendingPathComponent("Recordings/archive/2019/linked-folder").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: fixture.root.appendingPathComponent("Recordings/archive/2019/linked.txt").path))
        for name in ["archive/2019/old1.txt", "archive/2019/old2.txt"] {
            try fixture.waitForStatus(name, "synced")
            XCTAssertEqual(try fixture.attribute("user.sync.priority", of: name), "3")
        }
        XCTAssertEqual(try fixture.backingContents("archive/2019/old1.txt"), Data("old one".utf8))
        // Importing again never overwrites what is there.
        let again = try recsync(["import", fixture.root.appendingPathComponent("archive").path, "--into", fixture.mountpoint.path])
        XCTAssertTrue(again.stdout.contains("0 copied"), again.stdout)
        let outside = try recsync(["import", archive.path])
        XCTAssertNotEqual(outside.status, 0)
        XCTAssertTrue(outside.stderr.contains("--into"), outside.stderr)
    }

    func testUnmountWaitDrainsTheQueueAndEventsAreLogged() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try fixture.mount()
        for index in 0..<5 {
            try Shell.run(["dd", "if=/dev/urandom", "of=\(fixture.path("d\(index).raw"))", "bs=256k", "count=4", "status=none"])
        }
        let sync = try recsync(["sync-now", "--wait", fixture.path("d0.raw")])
        XCTAssertTrue(sync.succeeded, sync.stderr)
        XCTAssertEqual(try fixture.status("d0.raw"), "synced")
        let unmount = try Shell.run([MountFixture.binary, "unmount", "--wait", fixture.mountpoint.path])
        XCTAssertTrue(unmount.succeeded, unmount.stderr)
        // Unmounted: every file reached the bucket before the mount went away.
        let keys = try fixture.keys()
        XCTAssertEqual(keys.count, 5, "\(keys)")
        for index in 0..<5 {
            let key = "anonymous/\(MountFixture.yearMonth)/d\(index).raw"
            XCTAssertEqual(try fixture.object(key), try fixture.backingContents("d\(index).raw"))
        }
        let events = try Shell.run([MountFixture.binary, "events", fixture.mountpoint.path, "--state-dir", fixture.stateDir.path, "--json"])
        XCTAssertTrue(events.succeeded, events.stderr)
        let lines = events.stdout.split(separator: "\n")
        let successes = lines.filter { $0.contains("\"type\":\"syncSuccess\"") }
        XCTAssertEqual(successes.count, 5, events.stdout)
        XCTAssertTrue(lines.contains { $0.contains("\"status\":\"pending\"") && $0.contains("d3.raw") })
    }

    /// drain and unmount --wait never wait for a file that cannot upload by itself: they name it
    /// and exit 1 (here the key would be longer than S3's 1024 bytes).
    func testDrainAndUnmountWaitReportFilesThatWillNeverUpload() throws {
        fixture = try MountFixture(server: try TestServer.moto())
        try fixture.useConfig("path_pattern = \"{path}/{filename}\"\n[sync]\nsettle_delay = 0\n")
        try fixture.mount()
        let deep = (0..<5).map { _ in String(repeating: "d", count: 240) }.joined(separator: "/")
        try FileManager.default.createDirectory(atPath: fixture.path(deep), withIntermediateDirectories: true)
        try Shell.sh("printf 'stuck' > \(Shell.quote(fixture.path(deep + "/take.wav")))")
        try Shell.sh("printf 'fine' > \(Shell.quote(fixture.path("fine.wav")))")
        try fixture.waitForStatus("fine.wav", "synced")
        XCTAssertEqual(try fixture.status(deep + "/take.wav"), "local")

        let drain = try recsync(["drain", fixture.mountpoint.path])
        XCTAssertEqual(drain.status, 1, drain.stderr)
        XCTAssertTrue(drain.stderr.contains("1 file(s) will never upload by themselves"), drain.stderr)
        XCTAssertTrue(drain.stderr.contains("take.wav") && drain.stderr.contains("1024"), drain.stderr)

        let unmount = try recsync(["unmount", "--wait", fixture.mountpoint.path])
        fixture.mounted = false
        XCTAssertEqual(unmount.status, 1, unmount.stderr)
        XCTAssertTrue(unmount.stderr.contains("will never upload by themselves"), unmount.stderr)
        XCTAssertFalse(fixture.isMounted, "it still unmounts")
    }
}
